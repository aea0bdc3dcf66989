"""Clocks: the real one, and a settable one for tests and the demo (no monkeypatching of time)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """The real clock, timezone-aware UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment
