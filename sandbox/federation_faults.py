"""Faults the federation stub plays on demand: 5xx answers, stalls past the client's timeout, redirects."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class FederationFault:
    """One planned misbehaviour: answer `status` (with `location` for a redirect) after `delay` seconds."""

    status: int = 503
    delay: float = 0.0
    location: str | None = None


class FaultPlan:
    """Faults waiting for the next requests, first planned first played; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[FederationFault] = deque()

    def add(self, fault: FederationFault, times: int) -> None:
        with self._lock:
            self._queue.extend([fault] * times)

    def next(self) -> FederationFault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
