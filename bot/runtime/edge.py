"""The edge of POST /slack/events: a capped read of the body and Slack's signature checked before any parsing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger("bot.runtime.web")

# Slack's largest bodies are view submissions: a modal's blocks plus the state of every input, a few hundred KB
# at the very most (100 blocks; text inputs of 3,000 characters). 1 MiB leaves room and bounds what an
# unauthenticated caller can make a worker hold in memory.
MAX_BODY_BYTES = 1024 * 1024
WINDOW_SECONDS = 5 * 60  # Slack's replay window for X-Slack-Request-Timestamp


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer given before Bolt sees the request."""

    status: int
    reason: str


class _Now(Clock):
    """slack_sdk's clock interface over an injected `now()` (seconds since the epoch)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def read_body(environ: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> bytes | Refusal:
    """The body, read up to `limit` bytes as CONTENT_LENGTH announces it; never more than limit + 1 bytes."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ["wsgi.input"]
    if not declared:
        if "chunked" not in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
            return Refusal(411, "Length Required")
        body = stream.read(limit + 1)  # the server de-chunks and stops at the end of the body
    else:
        if not declared.isdigit():
            return Refusal(400, "Bad Request")
        if int(declared) > limit:
            return Refusal(413, "Payload Too Large")
        body = _read_exactly(stream, int(declared))
        if len(body) < int(declared):
            return Refusal(400, "Bad Request")
    return Refusal(413, "Payload Too Large") if len(body) > limit else body


def _read_exactly(stream: Any, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class SignatureCheck:
    """Slack's v0 HMAC over `v0:<timestamp>:<body>` with a 5-minute window, before anything is parsed.

    Each refusal logs one line saying what to check, without the body or any header value.
    """

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._configured = bool(signing_secret)
        # SignatureVerifier refuses an empty secret; without one (Socket Mode) every request is refused below.
        self._verifier = SignatureVerifier(signing_secret or "unset", clock=_Now(now))

    def refusal(self, body: bytes, headers: Mapping[str, Any]) -> Refusal | None:
        """None when Slack signed this body; otherwise the 401 to answer (logged once)."""
        timestamp = str(headers.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "").strip()
        signature = str(headers.get("HTTP_X_SLACK_SIGNATURE") or "").strip()
        why = self._why_not(body, timestamp, signature)
        if why is None:
            return None
        log.warning("refused a request to /slack/events: %s", why)
        return Refusal(401, "Unauthorized")

    def _why_not(self, body: bytes, timestamp: str, signature: str) -> str | None:
        if not self._configured:  # Socket Mode runs without a signing secret: nothing over HTTP is Slack's
            return "SLACK_SIGNING_SECRET is not set (Socket Mode), so no HTTP request can be Slack's"
        if not timestamp or not signature:
            return ("the X-Slack-Signature or X-Slack-Request-Timestamp header is missing: only Slack should call "
                    "this URL")
        if not timestamp.isdigit():
            return "the request timestamp is not a number: only Slack should call this URL"
        if abs(self._now() - int(timestamp)) > WINDOW_SECONDS:
            return ("the request timestamp is more than 5 minutes away from this server's clock: check the clock "
                    "(NTP) or look for a replayed request")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "the body is not UTF-8, so Slack did not sign it"
        if not self._verifier.is_valid(text, timestamp, signature):
            return "the signature does not match: check SLACK_SIGNING_SECRET (Basic Information of the Slack app)"
        return None
