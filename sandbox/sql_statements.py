"""Counting what PostgreSQL gets from psycopg, for the tests and the bench: every statement a cursor sends, also one
sent without SQLAlchemy (the ack's INSERT, storage/autocommit.py), which SQLAlchemy's own events do not see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine

Hook = tuple[Any, str, Callable[..., None]]


def sent_statements(engine: Engine, seen: Callable[[str], None], *, whole: bool = False) -> list[Hook]:
    """(target, event, hook) triples to `sqlalchemy.event.listen` (and remove after): while they are listened to,
    each connection the pool of `engine` lends makes cursors that call `seen` with the first word, upper case, of
    every statement they send (`whole`: the statement's whole text); a connection given back makes plain cursors
    again."""
    class Counted(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen(str(query) if whole else str(query).split(None, 1)[0].upper())
            return super().execute(query, *args, **kwargs)

    def lent(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.cursor_factory = Counted

    def returned(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.cursor_factory = psycopg.Cursor

    return [(engine.pool, "checkout", lent), (engine.pool, "checkin", returned)]
