"""The worker: a fixed set of threads that claim acknowledged interactions from the database and handle them."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.deliverer import Deliverer
from bot.runtime.idle import Idle
from bot.runtime.wakeups import Wakeups
from bot.services.inbox import Inbox, Job

log = logging.getLogger(__name__)
THREADS = 8  # jobs handled at once per process, however deep the backlog
POLL_SECONDS = 0.5  # how often an idle worker looks for work other processes acknowledged
MAX_ATTEMPTS = 5  # a job claimed this often kills its workers: dropped (and logged) so the queue moves on


class Worker:
    """Claims one job at a time per thread, renews the leases of the jobs it holds, deletes a job once handled.

    A job is handled at least once and, while its worker lives, by that worker only: the lease is renewed
    every third of its length, so only a job whose worker died (or lost the database) is claimed again.

    A job recorded by this process while a thread is idle is handed to that thread as it is recorded (its insert
    leases it here): no claim. Any other job wakes one idle thread, which claims it; one idle thread at a time
    polls (`Idle`).
    """

    def __init__(self, inbox: Inbox, handle: Callable[[Job], None], *, threads: int = THREADS,
                 poll_seconds: float = POLL_SECONDS, outbox: Deliverer | None = None,
                 wakeups: Wakeups | None = None) -> None:
        self.inbox, self.handle = inbox, handle
        self.outbox = outbox  # the Slack outbox's threads run (and stop) with the worker
        self.wakeups = wakeups  # PostgreSQL: jobs other processes record wake this worker at once
        self.threads, self.poll_seconds = threads, poll_seconds
        self._idle = Idle(threads, poll_seconds)  # its condition guards the two below
        self._reserved = 0  # of the waiting threads, how many a job being recorded here will be handed to
        self._handed: deque[Job] = deque()
        self._stopping = threading.Event()
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._running: list[threading.Thread] = []
        inbox.on_record(self.wake)
        inbox.hand_to(self)

    def wake(self) -> None:
        """One idle thread looks for work (a recorded job wakes one thread, not all of them)."""
        self._idle.call()

    def reserve(self) -> bool:
        with self._idle.condition:
            if self._stopping.is_set() or self._idle.waiting <= self._reserved:
                return False
            self._reserved += 1
            return True

    def release(self) -> None:
        with self._idle.condition:
            self._reserved -= 1

    def take(self, job: Job) -> None:
        with self._lock:
            self._held.add(job.id)  # its lease is renewed from now on, like a claimed job's
        with self._idle.condition:  # inserted leased, it is announced to no other worker (migration 0015)
            self._reserved -= 1
            self._handed.append(job)
            self._idle.condition.notify()

    def start(self) -> Worker:
        if self._running:
            return self
        self._stopping.clear()
        self._idle.open()
        self._running = [threading.Thread(target=self._loop, name=f"pam-worker-{n}", daemon=True)
                         for n in range(self.threads)]
        self._running.append(threading.Thread(target=self._renew_leases, name="pam-worker-leases", daemon=True))
        for thread in self._running:
            thread.start()
        if self.outbox is not None:
            self.outbox.start()
        if self.wakeups is not None:
            self.wakeups.start(self.wake)
        log.info("worker started: %s threads", self.threads)
        return self

    def stop(self) -> None:
        """Finish the jobs in hand, then stop; jobs not yet claimed stay in the database for the next worker."""
        self._stopping.set()
        self._idle.stop()
        for thread in self._running:
            thread.join()
        self._running = []
        if self.wakeups is not None:
            self.wakeups.stop()
        if self.outbox is not None:
            self.outbox.stop()

    def run_once(self) -> bool:
        """Claim and handle one job in the calling thread; False when there was none."""
        with self._lock:
            held = set(self._held)
        try:
            jobs, more = self.inbox.claim_and_look(1, exclude=held)
        except SQLAlchemyError as error:
            log.warning("worker could not claim work: %s", type(error).__name__)
            return False
        if not jobs:
            return False
        if more:  # a backlog (found by a poll, or recorded while every thread was busy): another thread helps
            self.wake()
        job = jobs[0]
        if job.attempts > MAX_ATTEMPTS:
            log.error("job %s (%s) dropped after %s attempts", job.id, job.kind, job.attempts - 1)
            self.inbox.finish(job.id)
            return True
        with self._lock:
            self._held.add(job.id)
        self._handle(job)
        return True

    def _handle(self, job: Job) -> None:
        try:
            self.handle(job)
            self.inbox.finish(job.id)
        except Exception:  # a job that fails unexpectedly is retried after its lease, never lost
            log.exception("job %s (%s) failed; it will be retried after its lease", job.id, job.kind)
        finally:
            with self._lock:
                self._held.discard(job.id)

    def _loop(self) -> None:
        handed: Job | None = None
        while True:
            if handed is not None:
                self._handle(handed)
            elif self._stopping.is_set():
                return
            else:
                self.run_once()  # one that found another job waiting behind its own woke a thread for it
            handed = self._await_work()

    def _await_work(self) -> Job | None:
        """A job handed to this thread; None when it should claim (woken, or its poll is due) or stop."""
        with self._idle.condition:
            self._idle.wait(ready=lambda: bool(self._handed))
            if self._handed:
                return self._handed.popleft()
            self._idle.take_call()
            return None

    def _renew_leases(self) -> None:
        period = self.inbox.lease.total_seconds() / 3
        while not self._stopping.wait(period):
            with self._lock:
                held = set(self._held)
            try:
                self.inbox.renew(held)
            except SQLAlchemyError as error:
                log.warning("worker could not renew its leases: %s", type(error).__name__)
