"""Console links whose DM Slack did not take at once: kept in this process's memory only, retried until the link
would expire, then given up on (the requester is offered a "Get a new link" button instead)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.errors import NotifyFailed

log = logging.getLogger(__name__)
DELAYS = (2.0, 5.0, 10.0, 30.0, 60.0)  # seconds before each next try, then every minute
CAPACITY = 1_000  # links held at once; beyond that a link is given up on at once rather than held


@dataclass(order=True)
class _Held:
    next_try: float  # time.monotonic()
    order: int
    label: str = field(compare=False)  # the request's ref, for logs
    send: Callable[[], dict[str, str]] = field(compare=False)  # the link lives in this closure, nowhere else
    until: datetime = field(compare=False)
    sent: Callable[[dict[str, str]], object] = field(compare=False)
    lost: Callable[[NotifyFailed], object] = field(compare=False)
    tries: int = field(default=1, compare=False)


class LinkCourier:
    """One thread that retries held link DMs with backoff (a 429's Retry-After honoured) until `until` by the
    injected clock. `stop()` gives up on every link still held: a link cannot be handed to another process."""

    def __init__(self, clock: Callable[[], datetime], *, delays: tuple[float, ...] = DELAYS,
                 capacity: int = CAPACITY) -> None:
        self.clock, self.delays, self.capacity = clock, delays, capacity
        self._held: list[_Held] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def hold(self, label: str, send: Callable[[], dict[str, str]], *, until: datetime, first_error: NotifyFailed,
             sent: Callable[[dict[str, str]], object], lost: Callable[[NotifyFailed], object]) -> bool:
        """Keep trying `send` (which failed once with `first_error`); False when this courier cannot hold it
        (stopping, or full): the caller gives up on the link at once."""
        with self._lock:
            if self._stopping or len(self._held) >= self.capacity:
                return False
            heapq.heappush(self._held, _Held(time.monotonic() + self._delay(1, first_error), next(self._order),
                                             label, send, until, sent, lost))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pam-link-courier", daemon=True)
                self._thread.start()
        self._wake.set()
        return True

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def stop(self) -> None:
        """Give up on every held link (each `lost` callback runs here), and stop the thread."""
        with self._lock:
            self._stopping = True
            left, self._held = self._held, []
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        stopping = NotifyFailed("pam-bot stopped before Slack took the link's message.", code="worker_stopped")
        for item in left:
            self._give_up(item, stopping)

    def _delay(self, tries: int, error: NotifyFailed) -> float:
        if error.retry_after is not None:
            return error.retry_after
        return self.delays[min(tries, len(self.delays)) - 1]

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                item = heapq.heappop(self._held) if self._held and self._held[0].next_try <= time.monotonic() \
                    else None
                wait = (self._held[0].next_try - time.monotonic()) if self._held else None
            if item is None:
                self._wake.wait(timeout=min(wait, 1.0) if wait is not None else 1.0)
                self._wake.clear()
                continue
            self._try(item)

    def _try(self, item: _Held) -> None:
        if self.clock() >= item.until:
            self._give_up(item, NotifyFailed("Slack did not take the link's message before the link expired.",
                                             code="link_expired"))
            return
        try:
            where = item.send()
        except NotifyFailed as error:
            if not error.transient:
                self._give_up(item, error)
                return
            item.tries += 1
            item.next_try = time.monotonic() + self._delay(item.tries, error)
            log.info("link DM for %s: %s, try %s in %.0f s", item.label, error.code, item.tries, item.next_try
                     - time.monotonic())
            with self._lock:
                if not self._stopping:
                    heapq.heappush(self._held, item)
                    return
            self._give_up(item, error)
            return
        log.info("link DM for %s landed on try %s", item.label, item.tries)
        try:
            item.sent(where)
        except Exception:  # the link landed; only remembering where failed (logged, the thread carries on)
            log.exception("link DM for %s: recording where it landed failed", item.label)

    def _give_up(self, item: _Held, error: NotifyFailed) -> None:
        log.warning("link DM for %s given up after %s tries: %s", item.label, item.tries, error.code)
        try:
            item.lost(error)
        except Exception:  # the database may be down too: the unsettled-link sweep offers the button later
            log.exception("link DM for %s: offering a new link failed", item.label)
