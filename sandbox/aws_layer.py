"""WSGI middleware in front of moto's server: enforces what AWS enforces, injects faults, records calls."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from sandbox.aws_identity import find_caller
from sandbox.aws_records import ApiCall, CallLog, Faults, Refusal
from sandbox.aws_s3_rules import check_s3, s3_error_body
from sandbox.aws_rules import Request, check

WsgiApp = Callable[..., Iterable[bytes]]
ENFORCED_SERVICES = frozenset({"sts", "iam"})
_NAMESPACES = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/", "iam": "https://iam.amazonaws.com/doc/2010-05-08/"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_ISSUED_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
_REQUEST_ID = re.compile(rb"<RequestId>([^<]+)</RequestId>")


class EnforcingLayer:
    """Wraps moto's WSGI app; requests signed with `admin_key_id` (the sandbox's own set-up) pass untouched."""

    def __init__(self, app: WsgiApp, *, admin_key_id: str, log: CallLog, faults: Faults) -> None:
        self.app = app
        self.admin_key_id = admin_key_id
        self.log = log
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        request = _parse(environ)
        if request is not None and request.service == "s3":
            s3_refusal = check_s3(environ, datetime.now(UTC))
            if s3_refusal is not None:
                start_response(f"{s3_refusal.status} Refused", [("Content-Type", "application/xml")])
                return [s3_error_body(s3_refusal)]
        if request is None or request.service not in ENFORCED_SERVICES or request.access_key_id == self.admin_key_id:
            return self.app(environ, start_response)
        caller = find_caller(request.access_key_id)
        try:
            refusal = self.faults.take(request.action, request.params.get("RoleArn"))
            if refusal is not None:
                raise refusal
            check(request, caller, datetime.now(UTC))
        except Refusal as refusal:
            body = error_body(request.service, refusal)
            self._record(request, caller, refusal.code, refusal.status, started=started,
                         request_id=_first(_REQUEST_ID, body))
            start_response(f"{refusal.status} Refused", [("Content-Type", "text/xml")])
            return [body]
        status, headers, body = _forward(self.app, environ)
        code = int(status.split()[0])
        outcome = "ok" if code < 400 else _first(_CODE, body) or f"HTTP{code}"
        issued = _first(_ISSUED_KEY, body) if request.action == "AssumeRole" and code < 400 else None
        self._record(request, caller, outcome, code, issued, started=started, request_id=_first(_REQUEST_ID, body))
        start_response(status, headers)
        return [body]

    def _record(self, request: Request, caller: Any, outcome: str, status: int, issued: str | None = None, *,
                started: float, request_id: str | None = None) -> None:
        self.log.add(ApiCall(service=request.service, action=request.action,
                             caller_arn=caller.arn if caller is not None else None,
                             caller_key_id=request.access_key_id, params=dict(request.params), outcome=outcome,
                             status=status, issued_key_id=issued, duration=time.perf_counter() - started,
                             request_id=request_id))


def error_body(service: str, refusal: Refusal) -> bytes:
    """An AWS query-protocol error document, as STS and IAM send them."""
    kind = "Receiver" if refusal.status >= 500 else "Sender"
    namespace = _NAMESPACES.get(service, _NAMESPACES["sts"])
    return (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(refusal.code)}</Code>'
            f"<Message>{escape(refusal.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
            f"</ErrorResponse>").encode()


def signed_service(environ: dict[str, Any]) -> str | None:
    """The service a SigV4 Authorization header was signed for (`sts`, `iam`), or None."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match[3] if match else None


def _parse(environ: dict[str, Any]) -> Request | None:
    """Read the signed request (putting the body back for moto); None when it is not SigV4-signed."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Request(service=match[3], action=params.get("Action", ""), access_key_id=match[1],
                   session_token=environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), params=params)


def _forward(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured.update(status=status, headers=headers)

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def _first(pattern: re.Pattern[bytes], body: bytes) -> str | None:
    match = pattern.search(body)
    return match[1].decode() if match else None
