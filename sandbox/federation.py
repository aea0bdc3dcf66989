"""A local AWS sign-in federation endpoint (`getSigninToken`, `login`) that accepts only sandbox role sessions."""
# getSigninToken by GET (query) or POST (form body), as AWS accepts both; tokens of a real token's length.

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

from sandbox.aws import AwsSandbox
from sandbox.federation_faults import FaultPlan, FederationFault
from sandbox.federation_records import FederationCall, fields_of, form_body
from sandbox.http import KeepAliveWSGIServer, Stop, serve_wsgi_kept_alive

TOKEN_LIFETIME = 900.0  # a sign-in token works for 15 minutes
TOKEN_LENGTH = 1400  # real SigninTokens are about 1.4 KB, and AWS does not promise any size


@dataclass(frozen=True)
class _Token:
    role_arn: str
    session_arn: str
    issued: float


class FederationStub:
    """Serves `<url>?Action=getSigninToken|login` like signin.aws.amazon.com/federation does."""

    def __init__(self, aws: AwsSandbox, *, host: str = "127.0.0.1", token_length: int = TOKEN_LENGTH) -> None:
        self.aws = aws
        self.host = host
        self.token_length = token_length
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._calls: list[FederationCall] = []
        self._tokens: dict[str, _Token] = {}
        self._down = False
        self._server: KeepAliveWSGIServer | None = None
        self._stop: Stop | None = None

    @property
    def url(self) -> str:
        """The federation endpoint, what PAM_SIGNIN_URL should be (`http://127.0.0.1:PORT/federation`)."""
        if self._server is None:
            raise RuntimeError("the federation stub is not started")
        return f"http://{self.host}:{self._server.server_port}/federation"

    @property
    def connections(self) -> int:
        """Connections accepted since the start: like AWS's sign-in host, the stub keeps them open (HTTP/1.1)."""
        return self._server.connections if self._server is not None else 0

    def served_seconds(self, start: float, end: float) -> float:
        """Seconds its server spent answering between `start` and `end` (`time.time()`), its HTTP handling
        included (sandbox.http.ServerTime)."""
        return self._server.busy.within(start, end) if self._server is not None else 0.0

    def start(self) -> FederationStub:
        if self._stop is None:
            self._server, self._stop = serve_wsgi_kept_alive(self._app, host=self.host)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop, self._server = None, None

    def __enter__(self) -> FederationStub:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def set_down(self, down: bool = True) -> None:
        """While down, every request gets 503 (as when the sign-in service has an outage)."""
        self._down = down

    def fail_next(self, times: int = 1, *, status: int = 503) -> None:
        """Answer the next `times` requests with HTTP `status` (a 5xx outage of the sign-in service)."""
        self.faults.add(FederationFault(status=status), times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next `times` requests for `seconds` before a 504 (a client with a shorter timeout gives up)."""
        self.faults.add(FederationFault(status=504, delay=seconds), times)

    def redirect_next(self, location: str, times: int = 1, *, status: int = 302) -> None:
        """Answer the next `times` requests with a redirect to `location`."""
        self.faults.add(FederationFault(status=status, location=location), times)

    def reset(self) -> None:
        """Up again, no planned faults, tokens of the default length."""
        self.faults.clear()
        self._down = False
        self.token_length = TOKEN_LENGTH

    def calls(self, action: str | None = None) -> list[FederationCall]:
        with self._lock:
            return [call for call in self._calls if action is None or call.action == action]

    def role_for_token(self, token: str) -> str | None:
        with self._lock:
            found = self._tokens.get(token)
        return found.role_arn if found else None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "")
        query = fields_of(environ.get("QUERY_STRING", ""))
        form = fields_of(form_body(environ)) if method == "POST" else {}
        fields = {**query, **form}
        action = fields.get("Action", "")
        fault = self.faults.next()
        headers: list[tuple[str, str]] = []
        if fault is not None:
            time.sleep(fault.delay)
            status, body, call = fault.status, b"Planned fault", FederationCall(action, fault.status, method)
            headers = [("Location", fault.location)] if fault.location else []
        elif self._down:
            status, body, call = 503, b"Service Unavailable", FederationCall(action=action, status=503)
        elif environ.get("PATH_INFO") != "/federation" or method not in ("GET", "POST"):
            status, body, call = 404, b"Not Found", FederationCall(action=action, status=404)
        elif action == "getSigninToken":
            status, body, call = self._signin_token(fields)
            call = replace(call, method=method, secrets_in_query="Session" in query)
        elif action == "login":
            status, body, call = self._login(fields)
        else:
            status, body, call = 400, b"Unknown Action", FederationCall(action=action, status=400)
        with self._lock:
            self._calls.append(replace(call, method=method, duration=time.perf_counter() - started))
        kind = "application/json" if status == 200 and action == "getSigninToken" else "text/plain"
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", kind), *headers])
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
        signin_token = secrets.token_urlsafe(self.token_length)[:self.token_length]
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

