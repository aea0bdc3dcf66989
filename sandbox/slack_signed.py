"""POST a body to the bot signed the way Slack signs requests (v0 HMAC-SHA256 over `v0:<ts>:<body>`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class Response:
    """The bot's HTTP answer, the trigger id and response_url the request carried, and the round-trip time."""

    status: int
    body: str
    json: dict[str, Any] | None
    trigger_id: str | None = None
    response_url: str | None = None
    elapsed: float = 0.0


def signature_headers(body: bytes, secret: str, timestamp: int | str) -> dict[str, str]:
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature or ""}


def post(url: str, body: bytes, content_type: str, *, secret: str | None, timestamp: int | str,
         timeout: float, trigger_id: str | None = None, response_url: str | None = None) -> Response:
    """POST `body`; signed with `secret` at `timestamp` unless `secret` is None. HTTP errors are answers too."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers.update(signature_headers(body, secret, timestamp))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    return Response(status, text, _json_or_none(text), trigger_id, response_url, time.monotonic() - started)


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
