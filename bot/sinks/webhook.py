"""The webhook sink: each batch POSTed as JSON over HTTPS, retried with backoff, optionally signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from bot.services.audit_shipping import Batch, SinkFailed

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
SIGNATURE_HEADER = "X-Pam-Signature-256"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead to plain http or another host: treat it as a refusal instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookSink:
    """POSTs `{"events": [...], "checkpoint": {...}|null}` with an `Idempotency-Key` that names the batch."""

    name = "webhook"

    def __init__(self, url: str, *, secret: str | None = None, attempts: int = 3, backoff: float = 0.5,
                 timeout: float = 10, sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self._secret = secret.encode() if secret else None
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    def deliver(self, batch: Batch) -> None:
        body = json.dumps({"events": list(batch.events), "checkpoint": batch.checkpoint}, sort_keys=True,
                          ensure_ascii=False, default=str).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "pam-bot-audit", "Idempotency-Key": batch.key}
        if self._secret is not None:  # the receiver recomputes it over the exact body it got
            headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        problem = ""
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            retry, problem = self._post(body, headers)
            if not problem:
                return
            if not retry:
                break
        raise SinkFailed(problem)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
        """(worth retrying, what went wrong); ("", ...) when the receiver accepted."""
        request = urllib.request.Request(  # noqa: S310 - an https URL (bot/domain/audit_settings.py)
            self._url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
                return False, ""
        except urllib.error.HTTPError as error:
            return error.code in RETRYABLE, f"the webhook answered HTTP {error.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            return True, f"the webhook could not be reached ({reason.__class__.__name__})"
