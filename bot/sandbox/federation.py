"""A local AWS sign-in federation endpoint (`getSigninToken`, `login`) that accepts only sandbox role sessions."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from bot.sandbox.aws import AwsSandbox
from bot.sandbox.http import Stop, serve_wsgi

TOKEN_LIFETIME = 900.0  # a sign-in token works for 15 minutes


@dataclass(frozen=True)
class FederationCall:
    """One request to the endpoint; never holds credentials or sign-in tokens."""

    action: str
    status: int
    role_arn: str | None = None  # the role whose session the credentials (or the token) belong to
    session_arn: str | None = None
    access_key_id: str | None = None
    session_duration_sent: bool = False
    issuer: str | None = None
    destination: str | None = None
    duration: float = 0.0  # seconds the stub spent answering


@dataclass(frozen=True)
class _Token:
    role_arn: str
    session_arn: str
    issued: float


class FederationStub:
    """Serves `<url>?Action=getSigninToken|login` like signin.aws.amazon.com/federation does."""

    def __init__(self, aws: AwsSandbox, *, host: str = "127.0.0.1") -> None:
        self.aws = aws
        self.host = host
        self._lock = threading.Lock()
        self._calls: list[FederationCall] = []
        self._tokens: dict[str, _Token] = {}
        self._down = False
        self._base: str | None = None
        self._stop: Stop | None = None

    @property
    def url(self) -> str:
        """The federation endpoint, what PAM_SIGNIN_URL should be (`http://127.0.0.1:PORT/federation`)."""
        if self._base is None:
            raise RuntimeError("the federation stub is not started")
        return f"{self._base}/federation"

    def start(self) -> FederationStub:
        if self._stop is None:
            self._base, self._stop = serve_wsgi(self._app, host=self.host)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def __enter__(self) -> FederationStub:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def set_down(self, down: bool = True) -> None:
        """While down, every request gets 503 (as when the sign-in service has an outage)."""
        self._down = down

    def calls(self, action: str | None = None) -> list[FederationCall]:
        with self._lock:
            return [call for call in self._calls if action is None or call.action == action]

    def role_for_token(self, token: str) -> str | None:
        with self._lock:
            found = self._tokens.get(token)
        return found.role_arn if found else None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        action = query.get("Action", "")
        if self._down:
            status, body, call = 503, b"Service Unavailable", FederationCall(action=action, status=503)
        elif environ.get("PATH_INFO") != "/federation" or environ.get("REQUEST_METHOD") != "GET":
            status, body, call = 404, b"Not Found", FederationCall(action=action, status=404)
        elif action == "getSigninToken":
            status, body, call = self._signin_token(query)
        elif action == "login":
            status, body, call = self._login(query)
        else:
            status, body, call = 400, b"Unknown Action", FederationCall(action=action, status=400)
        with self._lock:
            self._calls.append(replace(call, duration=time.perf_counter() - started))
        kind = "application/json" if status == 200 and action == "getSigninToken" else "text/plain"
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", kind)])
        return [body]

    def _signin_token(self, query: dict[str, str]) -> tuple[int, bytes, FederationCall]:
        duration_sent = "SessionDuration" in query
        try:
            session = json.loads(query.get("Session", ""))
            key, secret, token = session["sessionId"], session["sessionKey"], session["sessionToken"]
        except (ValueError, KeyError, TypeError):
            return 400, b"Invalid Session", FederationCall("getSigninToken", 400, session_duration_sent=duration_sent)
        caller = self.aws.session_for_credentials(str(key), str(secret), str(token))
        if caller is None or caller.expired(datetime.now(UTC)) or caller.role_arn is None:
            call = FederationCall("getSigninToken", 400, access_key_id=str(key), session_duration_sent=duration_sent)
            return 400, b"Invalid Credentials", call
        call = FederationCall("getSigninToken", 400 if duration_sent else 200, role_arn=caller.role_arn,
                              session_arn=caller.arn, access_key_id=caller.access_key_id,
                              session_duration_sent=duration_sent)
        if duration_sent:  # AWS refuses SessionDuration with credentials from role chaining
            return 400, b"Invalid SessionDuration for role chaining", call
        signin_token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[signin_token] = _Token(caller.role_arn, caller.arn, time.monotonic())
        return 200, json.dumps({"SigninToken": signin_token}).encode(), call

    def _login(self, query: dict[str, str]) -> tuple[int, bytes, FederationCall]:
        with self._lock:
            found = self._tokens.get(query.get("SigninToken", ""))
        live = found is not None and time.monotonic() - found.issued < TOKEN_LIFETIME
        call = FederationCall("login", 200 if live else 400, role_arn=found.role_arn if found else None,
                              session_arn=found.session_arn if found else None, issuer=query.get("Issuer"),
                              destination=query.get("Destination"))
        if not live or found is None:
            return 400, b"Invalid SigninToken", call
        return 200, f"Signed in as {found.session_arn}".encode(), call
