"""Console sign-in links: exchange role-session credentials for a sign-in token at the federation endpoint."""

from __future__ import annotations

import json
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from bot.domain.arns import console_url, signin_host
from bot.domain.errors import AwsError
from bot.services.ports import Credentials

DEFAULT_ISSUER = "pam-bot"


def federation_endpoint(partition: str, signin_url: str | None = None) -> str:
    """`<signin>/federation` for the partition, or the configured override (a bare host gets `/federation`)."""
    if not signin_url:
        return f"{signin_host(partition)}/federation"
    if urlsplit(signin_url).path in ("", "/"):
        return f"{signin_url.rstrip('/')}/federation"
    return signin_url


def console_link(credentials: Credentials, *, partition: str, signin_url: str | None = None,
                 issuer: str = DEFAULT_ISSUER, timeout: float = 10) -> str:
    """The login URL (a bearer secret for 15 minutes) opening the partition's console with these credentials.

    No SessionDuration is sent: AWS refuses it for credentials from role chaining, and without it the
    console session lasts as long as the credentials do.
    """
    endpoint = federation_endpoint(partition, signin_url)
    token = signin_token(endpoint, credentials, timeout=timeout)
    query = urlencode({"Action": "login", "Issuer": issuer, "Destination": console_url(partition),
                       "SigninToken": token})
    return f"{endpoint}?{query}"


def signin_token(endpoint: str, credentials: Credentials, *, timeout: float) -> str:
    """Call getSigninToken; any failure is an AwsError that names the host and nothing secret."""
    session = json.dumps({"sessionId": credentials.access_key_id, "sessionKey": credentials.secret_access_key,
                          "sessionToken": credentials.session_token})
    request = Request(f"{endpoint}?{urlencode({'Action': 'getSigninToken', 'Session': session})}",
                      headers={"Accept": "application/json", "User-Agent": "pam-bot"})
    host = urlsplit(endpoint).netloc
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) endpoint from settings
            body = response.read(64 * 1024)
    except HTTPError as error:
        error.close()
        raise _failed(host, f"HTTP {error.code}") from None
    except (URLError, HTTPException, OSError) as error:
        reason = getattr(error, "reason", error)
        raise _failed(host, type(reason).__name__ if not isinstance(reason, str) else reason) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise _failed(host, "no SigninToken in the answer") from None
    if not isinstance(token, str) or not token:
        raise _failed(host, "empty SigninToken")
    return token


def _failed(host: str, why: str) -> AwsError:
    return AwsError(f"The AWS sign-in service ({host}) did not give a console sign-in token ({why}). "
                    f"No sign-in link was made; try again in a minute.",
                    code="FederationFailed", detail=f"getSigninToken at {host}: {why}")
