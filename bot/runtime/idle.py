"""How the threads of a pool (the worker's, the outbox's) wait for work without all looking for it at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Idle:
    """The waiting room of a fixed set of threads.

    A call (a row was recorded or queued, a claim saw another row waiting) wakes one waiting thread, not all of
    them: their claims would only race each other for the one row. Calls are counted, at most one per thread, so
    none is lost while every thread is busy. One waiting thread at a time, not each of them, also looks for work
    every `poll_seconds` (rows no call announced: another process's without a notification, a lease that ran out,
    a row whose time came); an idle pool of eight made eight claims per period, for nothing.

    Callers hold `condition` around `wait` and `take_call`; it may guard their own state too (the worker's
    hand-offs), whose readiness `wait` is given.
    """

    def __init__(self, threads: int, poll_seconds: float) -> None:
        self.condition = threading.Condition()
        self.threads, self.poll_seconds = threads, poll_seconds
        self.waiting = 0  # threads in `wait`
        self._calls = 0
        self._polling = False  # one waiting thread has the poll's timeout
        self._stopped = False

    def call(self) -> None:
        with self.condition:
            self._calls = min(self._calls + 1, self.threads)
            self.condition.notify()

    def open(self) -> None:
        with self.condition:
            self._stopped = False

    def stop(self) -> None:
        with self.condition:
            self._stopped = True
            self.condition.notify_all()

    def wait(self, ready: Callable[[], bool] = lambda: False) -> None:
        """Until `ready()`, a call, a stop, or, for the thread that holds the poll, its period is over."""
        self.waiting += 1
        try:
            while not (ready() or self._calls or self._stopped):
                if self._polling:
                    self.condition.wait()
                    continue
                self._polling = True
                try:
                    if not self.condition.wait(self.poll_seconds):
                        return  # time to look
                finally:
                    self._polling = False
                    self.condition.notify()  # another waiting thread holds the poll from now on
        finally:
            self.waiting -= 1

    def take_call(self) -> None:
        self._calls = max(self._calls - 1, 0)
