"""The audit chain written a batch at a time: one INSERT for the batch, ids in chain order, one chain with
events other transactions append at the same moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.domain.audit import AuditEntry, AuditKey
from bot.services.audit import AuditService
from storage.db import make_sessionmaker
from storage.models import AuditEvent
from storage.repositories import AuditRepository

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = AuditKey.of("k" * 40)


def batch(prefix: str, size: int) -> list[AuditEntry]:
    return [AuditEntry("pam-bot", "session.warned", f"S-{prefix}{index:04d}", details={"n": index})
            for index in range(size)]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def events(db: sessionmaker[Session]) -> list[AuditEvent]:
    with db.begin() as session:
        return list(session.query(AuditEvent).order_by(AuditEvent.id))


def verified(db: sessionmaker[Session]) -> int:
    report = AuditService(db=db, clock=ManualClock(NOW)).verify()
    assert report.broken_at is None, report.reason
    return report.checked


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_a_batch_is_one_insert_whatever_its_size_and_its_ids_follow_the_chain(engine: Engine, keyed: bool) -> None:
    db = make_sessionmaker(engine, audit_key=KEY if keyed else None)
    sent = {}
    for size in (2, 300):
        with statements(engine) as seen, db.begin() as session:
            AuditRepository(session).append_many(batch(f"N{size}", size), NOW)
        sent[size] = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert len(sent[300]) == len(sent[2]) == 1
    rows = events(db)
    assert [row.target for row in rows] == [e.target for e in batch("N2", 2) + batch("N300", 300)]
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    assert {row.scheme for row in rows} == {"hmac-sha256" if keyed else "sha256"}
    if keyed:
        report = AuditService(db=db, clock=ManualClock(NOW)).verify()
        assert report.broken_at is None and report.checked == 302 and report.keyed == 302
    else:
        assert verified(db) == 302


def waiting_for_the_chain(engine: Engine) -> Callable[[], bool]:
    """Whether some transaction waits for the chain's advisory lock right now."""
    def waiting() -> bool:
        with engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar())
    return waiting


@pytest.mark.parametrize("first", ["batch", "single"])
def test_a_batch_and_a_single_event_at_the_same_moment_make_one_chain(engine: Engine, db: sessionmaker[Session],
                                                                      first: str) -> None:
    """PostgreSQL: whichever takes the chain first, the other waits for its commit and chains after it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the chain's advisory lock is PostgreSQL's; SQLite serialises writers instead")
    with db.begin() as session:
        AuditRepository(session).append(AuditEntry("U1", "request.create", "R-BEFORE"), NOW)
    entries = {"batch": batch("B", 250), "single": [AuditEntry("U2", "request.approve", "R-SINGLE")]}
    second = "single" if first == "batch" else "batch"
    holding, release = threading.Event(), threading.Event()

    def write(which: str, hold: bool) -> None:
        with db.begin() as session:
            AuditRepository(session).append_many(entries[which], NOW)
            if hold:  # the chain's lock stays held until this transaction commits
                holding.set()
                release.wait(20)

    holder = threading.Thread(target=write, args=(first, True))
    holder.start()
    assert holding.wait(20)
    other = threading.Thread(target=write, args=(second, False))
    other.start()
    waiting = waiting_for_the_chain(engine)
    for _ in range(2000):  # until the second writer is queued behind the first one's lock
        if waiting() or not other.is_alive():
            break
        time.sleep(0.01)
    assert waiting(), "the second writer did not wait for the chain's lock"
    release.set()
    holder.join(20)
    other.join(20)

    rows = events(db)
    expected = ["R-BEFORE", *(e.target for e in entries[first]), *(e.target for e in entries[second])]
    assert [row.target for row in rows] == expected
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    assert verified(db) == 252
