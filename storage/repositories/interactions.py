"""Interactions waiting for a worker: the web path's insert; claim with an expiring lease (SKIP LOCKED), renew, finish."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Base, Interaction

_TABLE = Base.metadata.tables[Interaction.__tablename__]
_INSERT = insert(_TABLE).returning(_TABLE.c.id)  # built once: its compiled form is cached


def add_interaction(connection: Connection, kind: str, body: dict[str, Any], now: datetime,
                    lease_until: datetime | None = None) -> int:
    """The web path's one statement per ack: INSERT … RETURNING id on a bare connection (no ORM session, no
    unit of work, no object to track); the caller's transaction commits it. With `lease_until` the row is claimed
    by the insert itself (handed to a worker thread of the same process)."""
    values = {"kind": kind, "body": body, "created_at": now, "lease_until": lease_until,
              "attempts": 0 if lease_until is None else 1}
    return int(connection.execute(_INSERT, values).scalar_one())


class InteractionRepository:
    """Queries over the `interactions` table for the workers; flushes, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_and_look(self, now: datetime, lease_until: datetime, limit: int,
                       exclude: Collection[int] = ()) -> tuple[Sequence[Interaction], bool]:
        """The oldest rows nobody holds (never claimed, or their lease ran out), leased to the caller, and whether
        one more free row was there (read in the same query, not leased).

        On PostgreSQL rows another transaction is claiming right now are skipped, not waited for.
        """
        query = select(Interaction).where(or_(Interaction.lease_until.is_(None), Interaction.lease_until <= now))
        if exclude:
            query = query.where(Interaction.id.not_in(list(exclude)))
        found = self.session.scalars(query.order_by(Interaction.id).limit(limit + 1)
                                     .with_for_update(skip_locked=True)).all()
        rows = found[:limit]
        for row in rows:
            row.lease_until = lease_until
            row.attempts += 1
        self.session.flush()
        return rows, len(found) > limit

    def renew(self, ids: Collection[int], lease_until: datetime) -> None:
        if ids:
            self.session.execute(update(Interaction).where(Interaction.id.in_(list(ids)))
                                 .values(lease_until=lease_until).execution_options(synchronize_session=False))

    def finish(self, interaction_id: int) -> None:
        self.session.execute(delete(Interaction).where(Interaction.id == interaction_id)
                             .execution_options(synchronize_session=False))

    def depth(self) -> tuple[int, datetime | None]:
        """How many rows wait or run, and when the oldest was acknowledged."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(Interaction.created_at)).select_from(Interaction)).one()
        return int(count or 0), oldest
