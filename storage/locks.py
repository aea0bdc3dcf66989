"""Named locks that hold across processes: PostgreSQL advisory locks; SQLite serves one process only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

_NAMESPACE = 0x70616E  # first key of every named lock, so they cannot meet other users of advisory locks


def hold_in(session: Session, name: str) -> None:
    """Take the lock `name` inside the session's open transaction, until it ends (PostgreSQL).

    SQLite needs none: every write transaction there begins IMMEDIATE, so writers already queue.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"),
                        {"namespace": _NAMESPACE, "name": name})


@contextmanager
def held(db: sessionmaker[Session], name: str) -> Iterator[None]:
    """Run the block while holding the lock `name`; another replica asking for the same name waits.

    On PostgreSQL a transaction-scoped advisory lock on its own connection, released when the block ends
    (also when the process dies). On SQLite, which one process uses, there is nothing to hold: callers keep
    their own in-process lock for threads.
    """
    bind = db.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        yield
        return
    with db() as session, session.begin():
        session.execute(text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"),
                        {"namespace": _NAMESPACE, "name": name})
        yield
