"""Shipping the audit trail out: each sink gets every committed event once it accepts, in id order.

A cursor per sink lives in the database and moves only after the sink accepted a batch; a crash between the
two resends that batch with the same idempotency key (at-least-once, idempotent at the receiver). On
PostgreSQL one replica ships a given sink at a time (a try-lock: the others skip, they never wait).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.services.audit import record_of
from bot.services.base import Clock, UseCase
from storage.repositories import AuditRepository
from storage.repositories.audit_checkpoints import CheckpointRepository, CursorRepository, try_ship_lock

log = logging.getLogger(__name__)


class SinkFailed(Exception):
    """A sink did not accept a batch; the message says why without secrets (no URL query, no signature)."""


@dataclass(frozen=True)
class Batch:
    """Events after a sink's cursor, oldest first, and the newest checkpoint they reach, if not shipped yet."""

    after_id: int  # the cursor the batch starts from
    events: tuple[dict[str, Any], ...]
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: int = 0  # the cursor's checkpoint id once this batch is accepted

    @property
    def last_id(self) -> int:
        return self.events[-1]["id"] if self.events else self.after_id

    @property
    def key(self) -> str:
        """Stable for the same content: the receiver's idempotency key, the S3 object's name."""
        if self.events:
            return f"events-{self.events[0]['id']:012d}-{self.last_id:012d}"
        return f"checkpoint-{self.checkpoint_id:012d}"

    def lines(self) -> list[dict[str, Any]]:
        """What a line-oriented sink writes: each event, then the checkpoint."""
        found = [{"kind": "audit.event", **event} for event in self.events]
        return found + ([{"kind": "audit.checkpoint", **self.checkpoint}] if self.checkpoint else [])


class AuditSink(Protocol):
    """Somewhere events go: standard output, a webhook, an S3 bucket."""

    name: str

    def deliver(self, batch: Batch) -> None:
        """Return once the batch is accepted; raise SinkFailed otherwise."""


@dataclass
class _Backoff:
    failures: int = 0
    retry_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class AuditShipper(UseCase):
    """Ships every sink as far as it goes; a failing sink waits (doubling, capped) and never stops the others."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, sinks: Sequence[AuditSink], batch: int = 500,
                 max_batches: int = 20, backoff: timedelta = timedelta(seconds=5),
                 max_backoff: timedelta = timedelta(minutes=5)) -> None:
        super().__init__(db=db, clock=clock)
        self.sinks = tuple(sinks)
        self.batch = batch
        self.max_batches = max_batches
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._state = {sink.name: _Backoff() for sink in self.sinks}

    def ship(self) -> dict[str, int]:
        """Events each sink accepted in this run."""
        return {sink.name: self._ship(sink) for sink in self.sinks}

    def _ship(self, sink: AuditSink) -> int:
        state = self._state[sink.name]
        if state.retry_at is not None and self.clock() < state.retry_at:
            return 0
        if not state.lock.acquire(blocking=False):  # this process ships it already (SQLite has no other)
            return 0
        try:
            with try_ship_lock(self.db, sink.name) as mine:
                return self._drain(sink, state) if mine else 0
        finally:
            state.lock.release()

    def _drain(self, sink: AuditSink, state: _Backoff) -> int:
        shipped = 0
        for _ in range(self.max_batches):
            batch = self._next(sink.name)
            if batch is None:
                break
            try:
                sink.deliver(batch)
            except SinkFailed as error:
                state.failures += 1
                wait = min(self.backoff * 2 ** (state.failures - 1), self.max_backoff)
                state.retry_at = self.clock() + wait
                log.warning("audit sink %s did not take %s (%s); next try in %ss", sink.name, batch.key, error,
                            int(wait.total_seconds()))
                return shipped
            if not self._advance(sink.name, batch):
                log.warning("audit sink %s: its cursor moved meanwhile; stopping this run", sink.name)
                break
            shipped += len(batch.events)
        state.failures, state.retry_at = 0, None
        return shipped

    def _next(self, sink: str) -> Batch | None:
        with self.transaction() as tx:
            cursor = CursorRepository(tx.session).get(sink)
            events = AuditRepository(tx.session).after(cursor.last_event_id, limit=self.batch)
            records = tuple(record_of(event) for event in events)
            reached = records[-1]["id"] if records else cursor.last_event_id
            newer = CheckpointRepository(tx.session).after(cursor.last_checkpoint_id)
            checkpoint = None
            if newer is not None and newer[1].head_id <= reached:  # never a checkpoint ahead of its events
                checkpoint = checkpoint_record(newer[0], newer[1])
            if not records and checkpoint is None:
                return None
            return Batch(cursor.last_event_id, records, checkpoint,
                         newer[0] if checkpoint and newer else cursor.last_checkpoint_id)

    def _advance(self, sink: str, batch: Batch) -> bool:
        with self.transaction() as tx:
            return CursorRepository(tx.session).advance(sink, from_event=batch.after_id, to_event=batch.last_id,
                                                        checkpoint_id=batch.checkpoint_id, now=tx.now)


def checkpoint_record(checkpoint_id: int, checkpoint: Any) -> dict[str, Any]:
    """A checkpoint as shipped: enough to hold a shipped copy of the chain against it."""
    return {"id": checkpoint_id, "at": checkpoint.at.isoformat(timespec="microseconds"),
            "head_id": checkpoint.head_id, "head_hash": checkpoint.head_hash, "count": checkpoint.count,
            "scheme": checkpoint.scheme, "mac": checkpoint.mac}
