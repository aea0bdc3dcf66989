"""Console sign-in links: exchange role-session credentials for a sign-in token at the federation endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from http.client import HTTPException
from urllib.parse import urlencode, urlsplit

import urllib3

from bot.config import DEFAULT_ISSUER_URL
from bot.domain.arns import console_url, signin_host
from bot.domain.errors import AwsError
from bot.http_pool import pool_for
from bot.services.ports import Credentials

DEFAULT_ISSUER = DEFAULT_ISSUER_URL  # AWS's "URL of your sign-in page"; PAM_ISSUER_URL chooses another
# Waits between the 4 tries of getSigninToken on a timeout or 5xx: under 2 s of backoff in all, far inside the
# 15 minutes the credentials' link would live, and short enough that the person is not kept waiting long.
RETRY_DELAYS = (0.25, 0.5, 1.0)
MAX_ANSWER_BYTES = 64 * 1024


class _Transient(Exception):
    """A failure worth another try (timeout, dropped connection, 5xx, 429)."""


def federation_endpoint(partition: str, signin_url: str | None = None) -> str:
    """`<signin>/federation` for the partition, or the configured override (a bare host gets `/federation`)."""
    if not signin_url:
        return f"{signin_host(partition)}/federation"
    if urlsplit(signin_url).path in ("", "/"):
        return f"{signin_url.rstrip('/')}/federation"
    return signin_url


def console_link(credentials: Credentials, *, partition: str, signin_url: str | None = None,
                 issuer: str = DEFAULT_ISSUER, timeout: float = 10, sleep: Callable[[float], None] = time.sleep,
                 delays: Sequence[float] = RETRY_DELAYS) -> str:
    """The login URL (a bearer secret for 15 minutes) opening the partition's console with these credentials.

    No SessionDuration is sent: AWS refuses it for credentials from role chaining, and without it the
    console session lasts as long as the credentials do.
    """
    endpoint = federation_endpoint(partition, signin_url)
    token = signin_token(endpoint, credentials, timeout=timeout, sleep=sleep, delays=delays)
    query = urlencode({"Action": "login", "Issuer": issuer, "Destination": console_url(partition),
                       "SigninToken": token})
    return f"{endpoint}?{query}"


def signin_token(endpoint: str, credentials: Credentials, *, timeout: float,
                 sleep: Callable[[float], None] = time.sleep, delays: Sequence[float] = RETRY_DELAYS) -> str:
    """getSigninToken by POST (credentials in the body, not the URL), retried on timeouts and 5xx.

    Any failure is an AwsError that names the host and nothing secret."""
    session = json.dumps({"sessionId": credentials.access_key_id, "sessionKey": credentials.secret_access_key,
                          "sessionToken": credentials.session_token})
    form = urlencode({"Action": "getSigninToken", "Session": session}).encode()
    host = urlsplit(endpoint).netloc
    for delay in (*delays, None):
        try:
            return _exchange(endpoint, form, host, timeout)
        except _Transient as error:
            if delay is None:
                raise _failed(host, str(error)) from None
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def _exchange(endpoint: str, form: bytes, host: str, timeout: float) -> str:
    try:
        response = pool_for(endpoint).request("POST", endpoint, body=form, headers={
            "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "pam-bot",
        }, timeout=urllib3.Timeout(connect=timeout, read=timeout), redirect=False, preload_content=False)
        body = _read(response)
    except (urllib3.exceptions.HTTPError, HTTPException, OSError) as error:  # no answer: timeout, refused, reset
        raise _Transient(type(error).__name__) from None
    status = response.status
    if status >= 500 or status == 429:
        raise _Transient(f"HTTP {status}")
    if 300 <= status < 400:
        raise _failed(host, f"HTTP {status}, a redirect, which pam-bot does not follow with credentials; "
                            "check PAM_SIGNIN_URL")
    if status >= 400:
        raise _failed(host, f"HTTP {status}")
    if len(body) > MAX_ANSWER_BYTES:
        raise _failed(host, "an answer larger than a sign-in token")
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise _failed(host, "no SigninToken in the answer") from None
    if not isinstance(token, str) or not token:
        raise _failed(host, "empty SigninToken")
    return token


def _read(response: urllib3.BaseHTTPResponse) -> bytes:
    """At most MAX_ANSWER_BYTES + 1 bytes of the answer. Its connection goes back to the pool, closed unless the
    answer was read to its end (what is left of a cut answer would be in the way of the next request)."""
    body = b""
    try:
        body = response.read(MAX_ANSWER_BYTES + 1)
    finally:
        if not body or len(body) > MAX_ANSWER_BYTES:
            response.close()
        response.release_conn()
    return body


def _failed(host: str, why: str) -> AwsError:
    return AwsError(f"The AWS sign-in service ({host}) did not give a console sign-in token ({why}). "
                    f"No sign-in link was made; try again in a minute.",
                    code="FederationFailed", detail=f"getSigninToken at {host}: {why}")
