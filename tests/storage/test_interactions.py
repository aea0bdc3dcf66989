"""The inbox's claim: the oldest rows nobody holds, leased (on PostgreSQL in one statement), with a look past them
that says whether another thread should come and claim too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.services.inbox import LEASE, Inbox
from bot.clock import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def inbox_with(db: sessionmaker[Session], clock: ManualClock, count: int) -> tuple[Inbox, list[int]]:
    inbox = Inbox(db=db, clock=clock)
    return inbox, [inbox.record("command", {"text": f"job {n}"}) for n in range(count)]


def test_a_claim_leases_the_oldest_free_rows_and_says_whether_more_wait(db: sessionmaker[Session]) -> None:
    clock = ManualClock(START)
    inbox, ids = inbox_with(db, clock, 3)
    jobs, more = inbox.claim_and_look(1)
    assert [(job.id, job.body["text"], job.attempts, job.created_at) for job in jobs] == [(ids[0], "job 0", 1, START)]
    assert more
    jobs, more = inbox.claim_and_look(2)
    assert [job.id for job in jobs] == ids[1:] and not more
    assert inbox.claim_and_look(1) == ([], False)  # all three are leased


def test_a_claim_skips_the_rows_the_caller_holds_and_takes_again_a_row_whose_lease_ran_out(
        db: sessionmaker[Session]) -> None:
    clock = ManualClock(START)
    inbox, ids = inbox_with(db, clock, 2)
    assert [job.id for job in inbox.claim(2)] == ids
    clock.advance(LEASE + timedelta(seconds=1))  # the worker that held them stopped renewing
    jobs, more = inbox.claim_and_look(1, exclude={ids[0]})
    assert [(job.id, job.attempts) for job in jobs] == [(ids[1], 2)] and not more
    jobs, more = inbox.claim_and_look(1)
    assert [(job.id, job.attempts) for job in jobs] == [(ids[0], 2)] and not more


def test_a_claim_is_one_statement_on_postgresql(db: sessionmaker[Session], engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: it reads the rows, then leases them")
    clock = ManualClock(START)
    inbox, _ = inbox_with(db, clock, 2)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    jobs, more = inbox.claim_and_look(1)
    assert len(jobs) == 1 and more
    assert [s for s in sent if not s.lstrip().upper().startswith("BEGIN")] == sent[-1:]
    assert sent[-1].lstrip().upper().startswith("UPDATE INTERACTIONS")


def test_a_record_postgresql_refuses_is_raised_as_any_statement_s_and_leaves_no_row_and_no_autocommit(
        db: sessionmaker[Session], engine: Engine) -> None:
    """On PostgreSQL the web path's INSERT goes to psycopg directly (storage/autocommit.py): a statement
    that fails is raised as SQLAlchemy's OperationalError, which the ack turns into "try again in a minute"; nothing
    is written, and the connection goes back to the pool as the pool lends it (not in autocommit)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's record is a SQLAlchemy transaction of its own")
    inbox = Inbox(db=db, clock=ManualClock(START))

    def short_lock_wait(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.autocommit = True
        dbapi_connection.execute("SET lock_timeout = '100ms'")
        dbapi_connection.autocommit = False

    event.listen(engine, "checkout", short_lock_wait)
    try:
        with engine.connect() as holder:  # another transaction holds the table
            holder.execute(text("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(OperationalError) as refused:
                inbox.record("command", {"text": "while locked"})
            holder.rollback()
    finally:
        event.remove(engine, "checkout", short_lock_wait)
    assert isinstance(refused.value.orig, psycopg.errors.LockNotAvailable)
    kept = inbox.record("command", {"text": "after"})
    with engine.connect() as connection:
        assert connection.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
        rows = connection.execute(text("SELECT id, body->>'text', attempts FROM interactions")).all()
    assert [tuple(row) for row in rows] == [(kept, "after", 0)]
