"""A stand-in audit webhook receiver: records every POST, answers with planned failures, can hold one open."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.http import Stop, serve_wsgi


@dataclass(frozen=True)
class Delivery:
    """One POST as received: its headers (lower-case names), parsed body and the status it was answered."""

    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    status: int

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")

    @property
    def event_ids(self) -> list[int]:
        return [event["id"] for event in self.body.get("events", [])]

    def signed_with(self, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-pam-signature-256", ""), expected)


class WebhookReceiver:
    """`with WebhookReceiver() as hook:` serves on 127.0.0.1; `hook.url` is what PAM_AUDIT_WEBHOOK_URL gets."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._failures: list[int] = []
        self._hold_at: int | None = None  # the POST (1-based) to keep unanswered until `release()`
        self.holding = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.url = ""
        self._stop: Stop | None = None

    def __enter__(self) -> WebhookReceiver:
        base, self._stop = serve_wsgi(self)
        self.url = f"{base}/audit"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        if self._stop is not None:
            self._stop()

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    def hold(self, nth: int) -> None:
        """Receive the `nth` POST from now but never answer it until `release()` (a sender that dies waiting)."""
        with self._lock:
            self._hold_at = len(self.deliveries) + nth

    def release(self) -> None:
        self._released.set()

    def accepted(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.status < 300]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            hold = self._hold_at == len(self.deliveries) + 1
            self.deliveries.append(Delivery(headers, json.loads(raw or b"{}"), raw, 0 if hold else status))
        if hold:
            self.holding.set()
            self._released.wait(timeout=60)
            start_response("504 Gateway Timeout", [("Content-Type", "application/json")])
            return [b"{}"]
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [json.dumps({"ok": status < 300}).encode()]
