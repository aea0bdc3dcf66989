"""The outbox's buffer, written just before its transaction commits: a newer state of a card or a Home tab replaces
the payload of the one still waiting, the rest are new rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Delivery
from storage.repositories.deliveries import DeliveryRepository

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def flush(db: sessionmaker[Session], *items: dict[str, Any], now: datetime = NOW) -> int:
    """Buffer `items` in one transaction and write them; how many are due now."""
    with db.begin() as session:
        repository = DeliveryRepository(session)
        for item in items:
            repository.buffer(item)
        return repository.flush_buffer(now)


def update(text: str, delay: float = 0.0, key: str = "card:R-1") -> dict[str, Any]:
    return {"kind": "update", "channel": "C1", "ts": "1.1", "payload": {"text": text}, "dedupe_key": key,
            "delay": delay}


def rows(db: sessionmaker[Session]) -> list[tuple[str, datetime, str]]:
    with db() as session:
        return [(row.payload["text"], row.due_at, row.state)
                for row in session.scalars(select(Delivery).order_by(Delivery.id))]


def test_a_newer_state_replaces_the_waiting_ones_payload_due_by_the_sooner_of_the_two(
        db: sessionmaker[Session]) -> None:
    assert flush(db, update("approved", delay=3.0)) == 0  # the approval's update waits for the grant's
    assert flush(db, update("granted"), update("other", key="card:R-2")) == 2
    assert rows(db) == [("granted", NOW, "queued"), ("other", NOW, "queued")]


def test_a_waiting_row_in_its_backoff_keeps_its_due_time_and_a_held_one_is_not_replaced(
        db: sessionmaker[Session]) -> None:
    flush(db, update("first"))
    later = NOW + timedelta(seconds=30)
    with db.begin() as session:  # a try failed: the row waits out its backoff
        (row,) = session.scalars(select(Delivery)).all()
        row.attempts, row.due_at = 1, later
    assert flush(db, update("second")) == 0
    assert rows(db) == [("second", later, "queued")]
    with db.begin() as session:  # a deliverer holds it now: the newer state is a row of its own
        DeliveryRepository(session).claim_and_look(later, later + timedelta(seconds=60), 1)
    assert flush(db, update("third"), now=later) == 1
    assert [text for text, _, _ in rows(db)] == ["second", "third"]


def test_a_newer_state_is_written_without_the_orms_unit_of_work(db: sessionmaker[Session]) -> None:
    """One read of the waiting rows and one UPDATE, prebuilt: no object is loaded for a flush to write."""
    flush(db, update("approved", delay=3.0))
    flushed: list[object] = []
    listener = lambda session, _context: flushed.extend(session.dirty)  # noqa: E731
    event.listen(db, "after_flush", listener)
    try:
        flush(db, update("granted"))
    finally:
        event.remove(db, "after_flush", listener)
    assert flushed == []
    assert rows(db) == [("granted", NOW, "queued")]
