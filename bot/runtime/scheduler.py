"""APScheduler interval job that runs the sweeps; the database is the source of truth, so restarts lose nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services.sweeps import SweepService, TickReport

log = logging.getLogger(__name__)


class Scheduler:
    """One background job every `tick_seconds`, the first right at start; never two ticks of one process at once.

    Several processes may each run one: the sweeps claim rows so that every notice goes out once.
    """

    def __init__(self, sweeps: SweepService, *, tick_seconds: int,
                 on_tick: Callable[[TickReport, float], None] | None = None,
                 heartbeat: Callable[[], None] | None = None) -> None:
        self.sweeps = sweeps
        self.heartbeat = heartbeat  # written after every tick that ran: `pam-bot health` reads it in Socket Mode
        self.tick_seconds = tick_seconds
        self.on_tick = on_tick
        self._scheduler = BackgroundScheduler(timezone=UTC)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> Scheduler:
        if self.running:
            return self
        # Scheduling uses real time; the sweeps themselves read the injected clock.
        self._scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, id="pam-sweeps",
                                replace_existing=True, max_instances=1, coalesce=True,
                                misfire_grace_time=self.tick_seconds, next_run_time=datetime.now(UTC))
        self._scheduler.start()
        log.info("scheduler started: a tick every %ss", self.tick_seconds)
        return self

    def stop(self) -> None:
        if self.running:
            self._scheduler.shutdown(wait=True)  # lets a running tick finish its transaction
            log.info("scheduler stopped")

    def tick(self) -> TickReport:
        started = time.perf_counter()
        try:
            report = self.sweeps.tick()
        except Exception:  # a tick must never kill the scheduler; the next one retries
            log.exception("scheduler tick failed")
            return TickReport()
        elapsed = time.perf_counter() - started
        self._beat()
        if any(vars(report).values()):
            log.info("tick: %s in %.3fs", report, elapsed)
        if self.on_tick:
            self.on_tick(report, elapsed)
        return report

    def _beat(self) -> None:
        if self.heartbeat is None:
            return
        try:
            self.heartbeat()
        except Exception:  # a missed beat shows in the health check; the next tick writes again
            log.warning("scheduler heartbeat not written", exc_info=True)
