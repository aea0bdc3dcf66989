"""The outbox's workers: threads that claim due deliveries and make their Slack calls, waiting out 429s."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.idle import Idle
from bot.services.base import on_queued
from bot.services.notices import NOTICE
from bot.services.outbox import DeliveryFailed, Job, Outbox, Sender, backoff

log = logging.getLogger(__name__)
HAND_BACK_TRIES = 30  # seconds to keep trying; then the row's lease runs out and any worker takes it
METHODS = {"post": "chat.postMessage", "dm": "chat.postMessage", "update": "chat.update",
           "publish": "views.publish"}  # the Web API method behind each kind of delivery
THREADS = 2
POLL_SECONDS = 0.2
WAIT_IN_THREAD = 3.0  # a shorter wait (Retry-After, first backoff) is slept here; a longer one goes back to the queue
TRIES_IN_THREAD = 3


class Deliverer:
    """At least once per row, and a post at most once: an attempt that may have landed is looked for first.

    `render(job)` turns a tick's notice row into its messages' rows (and settles it); `on_retry(method)` counts
    retries for metrics (by Web API method); `after_send(job)` runs between Slack's answer and the record (tests
    use it to stand for a crash there).
    """

    def __init__(self, outbox: Outbox, sender: Sender, *, render: Callable[[Job], object], threads: int = THREADS,
                 poll_seconds: float = POLL_SECONDS, on_retry: Callable[[str], None] | None = None,
                 after_send: Callable[[Job], None] | None = None) -> None:
        self.outbox, self.sender, self.render = outbox, sender, render
        self.threads, self.poll_seconds = threads, poll_seconds
        self.on_retry, self.after_send = on_retry, after_send
        self._stopping = threading.Event()
        self._idle = Idle(threads, poll_seconds)
        self._running: list[threading.Thread] = []
        on_queued(outbox.db, self.wake)  # rows this process queues wake it at once; others' by polling

    def wake(self) -> None:
        """One idle thread looks for work (a commit that queued rows due now wakes one thread, not both)."""
        self._idle.call()

    def start(self) -> Deliverer:
        if not self._running:
            self._stopping.clear()
            self._idle.open()
            self._running = [threading.Thread(target=self._loop, name=f"pam-outbox-{n}", daemon=True)
                             for n in range(self.threads)]
            for thread in self._running:
                thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._idle.stop()
        for thread in self._running:
            thread.join()
        self._running = []

    def drain(self, limit: int = 1000) -> int:
        """Deliver what is due now in the calling thread (tests, the CLI); how many rows were handled."""
        handled = 0
        while handled < limit and self.run_once():
            handled += 1
        return handled

    def run_once(self) -> bool:
        """Claim and deliver one row in the calling thread; False when none was due. A claim that saw another row
        due wakes another thread for it."""
        try:
            jobs, more = self.outbox.claim_and_look(1)
        except SQLAlchemyError as error:
            log.warning("outbox could not claim work: %s", type(error).__name__)
            return False
        if more:
            self.wake()
        for job in jobs:
            try:
                self.deliver(job)
            except SQLAlchemyError as error:  # the database went away mid-delivery: hand the row back
                log.warning("delivery %s interrupted: %s", job.id, type(error).__name__)
                self._hand_back(job)
        return bool(jobs)

    def _hand_back(self, job: Job) -> None:
        """Release a row whose delivery the database cut short as soon as the database answers again (instead of
        waiting out its lease); the next attempt looks before posting, so a post that landed is not repeated."""
        lost = DeliveryFailed("database_unavailable", "the database did not answer", unknown=True)
        for _ in range(HAND_BACK_TRIES):
            try:
                self.outbox.retry(job, lost, 0)
                return
            except SQLAlchemyError:
                if self._stopping.wait(1.0):
                    return

    def deliver(self, job: Job) -> None:
        if job.kind == NOTICE:
            self._render(job)
            return
        if job.superseded:  # a newer state of the same card or Home tab waits: only that one is worth sending
            self.outbox.landed(job, None)
            return
        if job.kind == "update" and job.ts is None and not job.places:  # no card of the request ever landed
            self.outbox.landed(job, None)
            return
        for attempt in range(TRIES_IN_THREAD):
            try:
                found = self.sender.find(job)
                if found is None:
                    if job.kind in ("post", "dm"):
                        job = replace(job, sending_since=self.outbox.begin(job))
                    found = self.sender.send(job)
                    if self.after_send is not None:
                        self.after_send(job)
                self.outbox.landed(job, found)
                return
            except DeliveryFailed as error:
                if error.permanent:
                    self.outbox.fail(job, error)
                    return
                delay = error.retry_after if error.retry_after is not None else backoff(job.attempts + attempt)
                if self.on_retry is not None:
                    self.on_retry(METHODS.get(job.kind, job.kind))
                log.info("delivery %s: %s, retrying in %.0f s", job.id, error.code, delay)
                if delay > WAIT_IN_THREAD or attempt == TRIES_IN_THREAD - 1 or self._stopping.is_set():
                    self.outbox.retry(job, error, delay)
                    return
                if not error.unknown:  # Slack said no: nothing landed, so no need to look before the next try
                    job = replace(job, sending_since=None)
                self._stopping.wait(delay)

    def _render(self, job: Job) -> None:
        try:
            self.render(job)
        except SQLAlchemyError:
            raise  # handed back by run_once
        except Exception:  # a notice that cannot be rendered waits and is tried again, like a refused call
            log.exception("notice %s could not be rendered", job.id)
            self.outbox.retry(job, DeliveryFailed("render_failed", "the notice could not be rendered"),
                              backoff(job.attempts))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()  # one that saw another row due behind its own woke a thread for it
            except Exception:
                log.exception("outbox delivery failed unexpectedly")
            with self._idle.condition:
                self._idle.wait()
                self._idle.take_call()

