"""What the web path sends on PostgreSQL by psycopg in autocommit, without SQLAlchemy's transaction and execution
context around it: the ack's one statement, the insert into the inbox (durable once `send_interaction` returns),
and, after it, the announcement that wakes the workers of other processes (`Announcer`). Unlike a repository's
statements, these commit by themselves."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError

from storage.repositories.interactions import INSERT, interaction_row
from storage.types import UtcDateTime

log = logging.getLogger(__name__)
CHANNEL = "pam_inbox"  # what the workers LISTEN on (bot/runtime/wakeups.py); the payload names the inbox's schema
# The schema of the `interactions` table this connection's search path finds, looked up once per process: the
# lookup costs the server about three times what the announcement does.
FIND_SCHEMA = ("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.oid = to_regclass('interactions')")
# The announcement: a transaction of its own, sent as one string (one round trip), that NOTIFYs with that schema.
# A transaction that NOTIFYs holds a lock that is one for the whole server while it commits; committed without
# waiting for the disk, it holds it for a moment only. Losing it in a crash of the server loses no work: the rows
# it announces were committed before it, and the workers' poll finds them.
ANNOUNCE = sql.SQL("BEGIN; SET LOCAL synchronous_commit TO off; NOTIFY {channel}, {schema}; COMMIT")


def sends_directly(engine: Engine) -> bool:
    """Whether `send_interaction` can write on this engine (PostgreSQL through psycopg 3)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def send_interaction(engine: Engine, kind: str, body: dict[str, Any], now: datetime,
                     lease_until: datetime | None = None) -> int:
    """`add_interaction` for the ack on PostgreSQL, committed when this returns: psycopg sends the INSERT in
    autocommit on a connection the engine's pool lends (`Engine.raw_connection`: its checks before lending apply),
    without SQLAlchemy's transaction and execution context, which cost the ack more CPU than the statement itself
    (bench/RESULTS.md, day eight). The values go through the columns' own types, as `add_interaction`'s do.
    A failure is raised as SQLAlchemy's OperationalError or DatabaseError, as from any other statement; a connection
    that broke is not lent again."""
    times = UtcDateTime()  # the columns' type, which SQLAlchemy would apply
    values = {**interaction_row(kind, body, now, lease_until), "body": Json(body),
              "created_at": times.process_bind_param(now, engine.dialect),
              "lease_until": times.process_bind_param(lease_until, engine.dialect)}
    sql = _sent(engine.dialect)
    with _autocommitted(engine, sql) as driver:
        found = driver.execute(sql, values).fetchone()
    assert found is not None  # INSERT … RETURNING returns its row
    return int(found[0])


@contextmanager
def _autocommitted(engine: Engine, sql: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection the engine's pool lends (`Engine.raw_connection`: its checks before lending apply) in
    autocommit for the block; the driver's errors raised as SQLAlchemy's (naming `sql`); a connection that broke is
    not lent again."""
    try:
        lent = engine.raw_connection()  # the pool hands on the driver's own error when it cannot connect
    except psycopg.Error as error:
        raise _as_sqlalchemy(sql, error) from error
    driver: psycopg.Connection[Any] = lent.driver_connection  # type: ignore[assignment]  # psycopg on this engine
    try:
        driver.autocommit = True
        try:
            yield driver
        finally:
            if not driver.broken:
                if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    driver.execute("ROLLBACK")  # a string of statements that failed between its BEGIN and COMMIT
                driver.autocommit = False  # as the pool lends its connections
    except psycopg.Error as error:
        if driver.broken or driver.closed:
            lent.invalidate(error)  # not lent again: the pool connects anew
        raise _as_sqlalchemy(sql, error) from error
    finally:
        lent.close()


class Announcer:
    """Wakes the workers of other processes (LISTEN `pam_inbox`) for rows this process recorded, apart from the
    rows' own commits: an insert that NOTIFYs makes every concurrent ack's commit wait for the one before it to
    reach the disk (migration 0018). A call never waits for the database: it marks an announcement due, and one
    thread sends it, once for every call made while it was sending the last, so a burst of acks sends a few, not
    one each. A failure is logged once until an announcement goes again; the workers' poll finds the rows
    meanwhile."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rounds = 0  # announcements tried
        self._state = threading.Condition()  # guards the rest but `_failing` (the thread's own)
        self._due = False  # a call came since the last round began
        self._sending = False
        self._thread: threading.Thread | None = None
        self._failing = False
        self._announcement: str | None = None  # the thread's own: ANNOUNCE with the schema, once it is known

    def __call__(self) -> None:
        with self._state:
            self._due = True
            self._state.notify()
            if self._thread is None or not self._thread.is_alive():  # not started, or started before a fork
                self._thread = threading.Thread(target=self._run, name="pam-announce", daemon=True)
                self._thread.start()

    def settled(self, timeout: float) -> bool:
        """Wait until every call so far has been announced (or tried); False if that took longer than `timeout`."""
        with self._state:
            return self._state.wait_for(lambda: not self._due and not self._sending, timeout)

    def _run(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._due)
                self._due, self._sending = False, True  # a call from here on is announced by the next round
            try:
                self._send()
            finally:
                with self._state:
                    self._sending = False
                    self.rounds += 1
                    self._state.notify_all()

    def _send(self) -> None:
        try:
            with _autocommitted(self.engine, self._announcement or FIND_SCHEMA) as driver:
                if self._announcement is None:
                    found = driver.execute(FIND_SCHEMA).fetchone()
                    if found is None:  # no inbox on this search path: nothing could have been recorded in it
                        return
                    self._announcement = ANNOUNCE.format(channel=sql.Identifier(CHANNEL),
                                                         schema=sql.Literal(found[0])).as_string(driver)
                driver.execute(self._announcement)
        except SQLAlchemyError as error:  # the driver's errors, and the pool's (no connection free in time)
            if not self._failing:
                log.warning("could not wake the workers of other processes (%s); their poll finds the new work "
                            "meanwhile", type(getattr(error, "orig", None) or error).__name__)
            self._failing = True
            return
        if self._failing:
            log.info("waking the workers of other processes again")
        self._failing = False


def _as_sqlalchemy(sql: str, error: psycopg.Error) -> DatabaseError:
    """The driver's error as SQLAlchemy raises it from any other statement (what the ack's callers catch)."""
    return (OperationalError if isinstance(error, psycopg.OperationalError) else DatabaseError)(sql, None, error)


@cache
def _sent(dialect: Dialect) -> str:
    """The repository's INSERT compiled by SQLAlchemy for the driver, once per dialect: named parameters."""
    return str(INSERT.compile(dialect=dialect, column_keys=list(interaction_row("", {}, datetime.min, None))))
