"""Kept-open HTTPS connections for the calls pam-bot makes itself: Slack's Web API and the AWS sign-in endpoint
(botocore keeps its own). One pool per process, its threads share it: a connection stays open from one call to
the next, so a call costs no new TCP connection and no TLS handshake, and nothing is built per call. The pool
follows no redirect and retries nothing by itself; each caller decides what is tried again."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.client import HTTPException
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import urllib3

# Hosts: slack.com, the sign-in host of each partition in use. Connections per host: as many as the threads that
# call at once (the web's, the worker's, the outbox's); more are opened when needed and closed when returned.
_DIRECT = urllib3.PoolManager(num_pools=8, maxsize=16, retries=False)
_PROXIED: dict[str, urllib3.ProxyManager] = {}  # by proxy URL, the same settings
_PROXIED_LOCK = threading.Lock()


def pool_for(url: str) -> urllib3.PoolManager:
    """The direct pool, or the proxy's when the environment names one for this URL (HTTPS_PROXY, HTTP_PROXY,
    NO_PROXY), as botocore reads it."""
    parts = urlsplit(url)
    proxy = getproxies().get(parts.scheme)
    if not proxy or proxy_bypass(parts.hostname or ""):
        return _DIRECT
    with _PROXIED_LOCK:
        if proxy not in _PROXIED:
            _PROXIED[proxy] = urllib3.ProxyManager(proxy, num_pools=8, maxsize=16, retries=False)
        return _PROXIED[proxy]


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> urllib3.BaseHTTPResponse:
    """POST on a kept-open connection and read the whole answer. No answer is raised as urllib raises it, so
    callers (and slack_sdk's retry handlers) see what they would see from urllib: `TimeoutError` for an answer
    that did not come in time, `URLError` for anything else (refused, reset, cut off, unreachable)."""
    try:
        return pool_for(url).request("POST", url, body=body, headers=dict(headers), redirect=False,
                                     timeout=urllib3.Timeout(connect=timeout, read=timeout))
    except urllib3.exceptions.ReadTimeoutError as error:
        raise TimeoutError(f"no answer within {timeout} s") from error
    except (urllib3.exceptions.HTTPError, HTTPException) as error:
        raise URLError(type(error).__name__) from error
