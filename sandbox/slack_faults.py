"""Faults the Slack stand-in serves on demand: rate limits, server errors, `ok: false` answers and delays."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

_STATUS_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class Fault:
    """One planned answer replacing (or delaying) the normal one."""

    status: int | None = None
    error: str | None = None
    retry_after: int = 1
    delay: float = 0.0

    @property
    def replaces_answer(self) -> bool:
        return self.status is not None or self.error is not None

    def answer(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        """HTTP status, extra headers and JSON body Slack would send for this fault."""
        status = self.status or 200
        error = self.error or _STATUS_ERRORS.get(status, "fatal_error")
        headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
        return status, headers, {"ok": False, "error": error}


class FaultPlan:
    """Per-method FIFO queues of faults; each fault is used once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)

    def add(self, method: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queues[method].extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(method)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()


def failure(*, status: int | None, error: str | None, retry_after: int) -> Fault:
    """Validate and build a failing fault."""
    if status is None and error is None:
        raise ValueError("give a status (429, 500, 503...) or an error code (channel_not_found...)")
    if status is not None and not 200 <= status <= 599:
        raise ValueError(f"not an HTTP status: {status}")
    if retry_after < 0:
        raise ValueError("retry_after must be >= 0")
    return Fault(status=status, error=error, retry_after=retry_after)
