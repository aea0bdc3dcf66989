"""The ack's one statement on PostgreSQL, sent by psycopg and committed as it is sent (autocommit): the web path's
insert into the inbox without SQLAlchemy's transaction and execution context around it. Unlike a repository's
statements, this one commits by itself; a row is durable once `send_interaction` returns."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DatabaseError, OperationalError

from storage.repositories.interactions import INSERT, interaction_row
from storage.types import UtcDateTime


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
    try:
        lent = engine.raw_connection()  # the pool hands on the driver's own error when it cannot connect
    except psycopg.Error as error:
        raise _as_sqlalchemy(sql, error) from error
    driver: psycopg.Connection[Any] = lent.driver_connection  # type: ignore[assignment]  # psycopg on this engine
    try:
        driver.autocommit = True  # one round trip: the INSERT commits by itself
        try:
            found = driver.execute(sql, values).fetchone()
        finally:
            if not driver.broken:
                driver.autocommit = False  # as the pool lends its connections
    except psycopg.Error as error:
        if driver.broken or driver.closed:
            lent.invalidate(error)  # not lent again: the pool connects anew
        raise _as_sqlalchemy(sql, error) from error
    finally:
        lent.close()
    assert found is not None  # INSERT … RETURNING returns its row
    return int(found[0])


def _as_sqlalchemy(sql: str, error: psycopg.Error) -> DatabaseError:
    """The driver's error as SQLAlchemy raises it from any other statement (what the ack's callers catch)."""
    return (OperationalError if isinstance(error, psycopg.OperationalError) else DatabaseError)(sql, None, error)


@cache
def _sent(dialect: Dialect) -> str:
    """The repository's INSERT compiled by SQLAlchemy for the driver, once per dialect: named parameters."""
    return str(INSERT.compile(dialect=dialect, column_keys=list(interaction_row("", {}, datetime.min, None))))
