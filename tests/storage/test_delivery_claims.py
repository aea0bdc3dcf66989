"""The outbox's claim: the oldest due rows nobody holds, one key's rows in order, leased (on PostgreSQL in one
statement) with a look past them that says whether another deliverer should come and claim too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from storage.repositories.deliveries import DeliveryRepository

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=60)


def queue(db: sessionmaker[Session], *keys: str | None) -> list[int]:
    with db.begin() as session:
        return [DeliveryRepository(session).add("post", "C1", {"text": str(n)}, NOW, dedupe_key=key)
                for n, key in enumerate(keys)]


def claim(db: sessionmaker[Session], limit: int, now: datetime = NOW) -> tuple[list[tuple[int, int]], bool]:
    with db.begin() as session:
        rows, more = DeliveryRepository(session).claim_and_look(now, LEASE, limit)
        return [(row.id, row.attempts) for row in rows], more


def test_a_claim_leases_the_oldest_due_rows_and_says_whether_more_are_due(db: sessionmaker[Session]) -> None:
    ids = queue(db, None, None, None)
    assert claim(db, 1) == ([(ids[0], 1)], True)
    assert claim(db, 2) == ([(ids[1], 1), (ids[2], 1)], False)
    assert claim(db, 1) == ([], False)
    assert claim(db, 3, LEASE + timedelta(seconds=1)) == ([(ids[0], 2), (ids[1], 2), (ids[2], 2)], False)


def test_a_row_waits_behind_an_older_unsettled_row_of_its_key_and_is_not_counted_as_due(
        db: sessionmaker[Session]) -> None:
    first, second = queue(db, "card:R-1", "card:R-1")
    assert claim(db, 1) == ([(first, 1)], False)
    assert claim(db, 1) == ([], False)  # the first is leased, not settled: the second waits
    with db.begin() as session:
        DeliveryRepository(session).settle(first, "done", NOW)
    assert claim(db, 1) == ([(second, 1)], False)


def test_a_claim_is_one_statement_on_postgresql(db: sessionmaker[Session], engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: it reads the rows, then leases them")
    queue(db, None, None)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    assert claim(db, 1)[1]
    assert len(sent) == 1 and sent[0].lstrip().upper().startswith("UPDATE DELIVERIES"), sent
