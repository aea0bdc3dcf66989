"""Signed checkpoints of the audit chain's head, and the cursor of each audit sink."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.audit import Checkpoint
from storage.models import AuditCheckpoint, AuditEvent, AuditSinkCursor
from storage.repositories.results import rowcount

_SHIP_LOCK = 0x706173  # first key of the sinks' advisory locks (the second is the sink's name, hashed)


class CheckpointRepository:
    """Checkpoints are appended, never changed; the newest one is what `verify` holds the chain against."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def latest(self) -> tuple[int, Checkpoint] | None:
        row = self.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
        return (row.id, checkpoint_of(row)) if row is not None else None

    def after(self, checkpoint_id: int) -> tuple[int, Checkpoint] | None:
        """The newest checkpoint if it is newer than `checkpoint_id`."""
        latest = self.latest()
        return latest if latest is not None and latest[0] > checkpoint_id else None

    def add(self, checkpoint: Checkpoint) -> int:
        row = AuditCheckpoint(at=checkpoint.at, head_id=checkpoint.head_id, head_hash=checkpoint.head_hash,
                              count=checkpoint.count, scheme=checkpoint.scheme, mac=checkpoint.mac)
        self.session.add(row)
        self.session.flush()
        return row.id

    def event_hash(self, event_id: int) -> str | None:
        return self.session.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))

    def count_between(self, after_id: int, up_to_id: int) -> int:
        return int(self.session.scalar(select(func.count()).select_from(AuditEvent)
                                       .where(AuditEvent.id > after_id, AuditEvent.id <= up_to_id)) or 0)


class CursorRepository:
    """Where each sink stands; a cursor moves only forward, and only from where the mover read it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, sink: str) -> AuditSinkCursor:
        row = self.session.get(AuditSinkCursor, sink)
        if row is None:
            row = AuditSinkCursor(sink=sink, last_event_id=0, last_checkpoint_id=0)
            self.session.add(row)
            self.session.flush()
        return row

    def advance(self, sink: str, *, from_event: int, to_event: int, checkpoint_id: int, now: datetime) -> bool:
        """Move the cursor if nobody else did meanwhile; False if it was not where the batch began."""
        result = self.session.execute(
            update(AuditSinkCursor)
            .where(AuditSinkCursor.sink == sink, AuditSinkCursor.last_event_id == from_event)
            .values(last_event_id=to_event, last_checkpoint_id=checkpoint_id, shipped_at=now))
        return bool(rowcount(result))


@contextmanager
def try_ship_lock(db: sessionmaker[Session], sink: str) -> Iterator[bool]:
    """On PostgreSQL, try to take this sink's lock for the block (True) or learn another replica has it (False).

    The lock lives in a transaction of its own that only holds it: the shipping reads and writes use short
    transactions, so a slow sink keeps no row locked. SQLite serves one process; callers lock threads.
    """
    bind = db.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        yield True
        return
    with db() as session, session.begin():
        taken = session.scalar(text("SELECT pg_try_advisory_xact_lock(:namespace, hashtext(:name))"),
                               {"namespace": _SHIP_LOCK, "name": sink})
        yield bool(taken)


def checkpoint_of(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.head_id, row.head_hash, row.count, row.at, row.scheme, row.mac)
