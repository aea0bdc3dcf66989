"""Interactions waiting for a worker: the web path's insert; claim with an expiring lease (SKIP LOCKED), renew, finish."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (ColumnElement, Connection, Integer, bindparam, delete, exists, func, insert, or_, select,
                        update)
from sqlalchemy.orm import Session

from storage.models import Base, Interaction

_TABLE = Base.metadata.tables[Interaction.__tablename__]
INSERT = insert(_TABLE).returning(_TABLE.c.id)  # built once: its compiled form is cached
_FINISH = delete(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
_READ = (_TABLE.c.id, _TABLE.c.kind, _TABLE.c.body, _TABLE.c.attempts, _TABLE.c.created_at)  # what a claim returns


class Claimed(NamedTuple):
    """One row leased to the caller, as the claim's UPDATE returned it."""

    id: int
    kind: str
    body: dict[str, Any]
    attempts: int
    created_at: datetime


def add_interaction(connection: Connection, kind: str, body: dict[str, Any], now: datetime,
                    lease_until: datetime | None = None) -> int:
    """The web path's one statement per ack: INSERT … RETURNING id on a bare connection (no ORM session, no
    unit of work, no object to track); the caller's transaction commits it. With `lease_until` the row is claimed
    by the insert itself (handed to a worker thread of the same process)."""
    return int(connection.execute(INSERT, interaction_row(kind, body, now, lease_until)).scalar_one())


def interaction_row(kind: str, body: dict[str, Any], now: datetime, lease_until: datetime | None) -> dict[str, Any]:
    """The web path's row: a row the insert leases to a worker of its own process counts as claimed once."""
    return {"kind": kind, "body": body, "created_at": now, "lease_until": lease_until,
            "attempts": 0 if lease_until is None else 1}


class InteractionRepository:
    """Queries over the `interactions` table for the workers; flushes, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_and_look(self, now: datetime, lease_until: datetime, limit: int,
                       exclude: Collection[int] = ()) -> tuple[Sequence[Claimed], bool]:
        """The oldest rows nobody holds (never claimed, or their lease ran out), leased to the caller, and whether
        one more free row was there (a hint: whether to wake another thread).

        On PostgreSQL one statement, `UPDATE … WHERE id IN (the oldest free rows, SKIP LOCKED) RETURNING` the rows
        and the look past them: rows another transaction is claiming right now are skipped, not waited for (the
        look may count one of those as free: another thread then claims in vain once). SQLite serves one process:
        the rows and one more are read, then leased.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(_claim(exclude), {"now": now, "lease_until": lease_until, "limit": limit}).all()
            return sorted((Claimed(*row[:5]) for row in rows), key=lambda row: row.id), bool(rows and rows[0][5])
        connection = self.session.connection()
        free = [Claimed(*row) for row in connection.execute(
            select(*_READ).where(*_free(_TABLE, exclude)).order_by(_TABLE.c.id).limit(limit + 1), {"now": now})]
        leased = [row._replace(attempts=row.attempts + 1) for row in free[:limit]]
        if leased:
            connection.execute(update(_TABLE).where(_TABLE.c.id.in_([row.id for row in leased]))
                               .values(lease_until=lease_until, attempts=_TABLE.c.attempts + 1))
        return leased, len(free) > limit

    def renew(self, ids: Collection[int], lease_until: datetime) -> None:
        if ids:
            self.session.execute(update(Interaction).where(Interaction.id.in_(list(ids)))
                                 .values(lease_until=lease_until).execution_options(synchronize_session=False))

    def finish(self, interaction_id: int) -> None:
        self.session.connection().execute(_FINISH, {"row_id": interaction_id})

    def depth(self) -> tuple[int, datetime | None]:
        """How many rows wait or run, and when the oldest was acknowledged."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(Interaction.created_at)).select_from(Interaction)).one()
        return int(count or 0), oldest


def _free(table: Any, exclude: Collection[int]) -> list[ColumnElement[bool]]:
    """Rows nobody holds at `:now` (never claimed, or their lease ran out), but those in `exclude`."""
    now = bindparam("now", type_=_TABLE.c.lease_until.type)
    found = [or_(table.c.lease_until.is_(None), table.c.lease_until <= now)]
    return [*found, table.c.id.not_in(list(exclude))] if exclude else found


def _claim(exclude: Collection[int]) -> Any:
    """PostgreSQL's claim: the `:limit` oldest free rows, leased until `:lease_until`, each returned with whether a
    free row lies past the first `:limit` (a subquery of RETURNING reads the table as the statement found it, where
    the claimed rows are still free)."""
    limit = bindparam("limit", type_=Integer())
    oldest = select(_TABLE.c.id).where(*_free(_TABLE, exclude)).order_by(_TABLE.c.id).limit(limit) \
        .with_for_update(skip_locked=True)
    past = _TABLE.alias("past")
    more = exists(select(past.c.id).where(*_free(past, exclude)).order_by(past.c.id).offset(limit).limit(1))
    return (update(_TABLE).where(_TABLE.c.id.in_(oldest))
            .values(lease_until=bindparam("lease_until", type_=_TABLE.c.lease_until.type),
                    attempts=_TABLE.c.attempts + 1)
            .returning(*_READ, more.label("more")))
