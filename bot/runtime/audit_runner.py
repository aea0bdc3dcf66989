"""The audit trail's own background thread: signs a checkpoint of the head now and then, ships the sinks.

It runs beside the scheduler, not in its tick: a slow or unreachable sink never delays a sweep.
"""

from __future__ import annotations

import logging
import threading
import time

from bot.services.audit import AuditService
from bot.services.audit_shipping import AuditShipper

log = logging.getLogger(__name__)


class AuditRunner:
    """Every `every_seconds`: a checkpoint when `checkpoint_seconds` have passed, then one shipping run."""

    def __init__(self, audit: AuditService, shipper: AuditShipper, *, every_seconds: float,
                 checkpoint_seconds: float) -> None:
        self.audit = audit
        self.shipper = shipper
        self.every_seconds = every_seconds
        self.checkpoint_seconds = checkpoint_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._checkpointed_at: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> AuditRunner:
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="pam-audit", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)  # a run in flight ends at its next sink call
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every_seconds)

    def run_once(self) -> dict[str, int]:
        """One round; nothing raised here stops the thread (the next round tries again)."""
        now = time.monotonic()
        try:
            if self._checkpointed_at is None or now - self._checkpointed_at >= self.checkpoint_seconds:
                self.audit.checkpoint()
                self._checkpointed_at = now
        except Exception:  # the thread must live on; the next round tries again
            log.exception("audit checkpoint failed")
        try:
            return self.shipper.ship()
        except Exception:  # likewise (a database outage, say)
            log.exception("audit shipping failed")
            return {}
