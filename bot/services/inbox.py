"""The durable inbox: what the web path acknowledged, handed to workers under a lease that expires."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.autocommit import Announcer, send_interaction, sends_directly
from storage.repositories.interactions import InteractionRepository, add_interaction

Clock = Callable[[], datetime]
LEASE = timedelta(seconds=30)  # a job whose worker stopped renewing this long is taken by another worker
SECRET_FIELDS = ("token",)  # Slack's legacy verification token: never stored


@dataclass(frozen=True)
class Job:
    """One claimed interaction; `attempts` > 1 means an earlier worker died holding it."""

    id: int
    kind: str
    body: dict[str, Any]
    attempts: int
    created_at: datetime


class Taker(Protocol):
    """A worker in the recording process that can take a job as it is recorded (bot/runtime/worker.py)."""

    def reserve(self) -> bool:
        """Hold an idle thread for a job about to be recorded; False when none is idle."""

    def release(self) -> None:
        """The job held for was not recorded after all."""

    def take(self, job: Job) -> None:
        """The job held for, recorded and leased to this process."""


class Inbox:
    """One insert per acknowledged request; workers claim, renew while working, and delete when done."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, lease: timedelta = LEASE) -> None:
        self.db, self.clock, self.lease = db, clock, lease
        self._listeners: list[Callable[[], None]] = []
        self._taker: Taker | None = None
        self._insert, self.announcer = _inserter(db)  # announcer: None on SQLite

    def on_record(self, wake: Callable[[], None]) -> None:
        """Call `wake` after every insert no worker took (an in-process worker starts at once instead of at its next
        poll)."""
        self._listeners.append(wake)

    def hand_to(self, taker: Taker) -> None:
        """An in-process worker with an idle thread takes what this process records: the insert leases the row
        to it, so no claim is needed; if this process dies, the lease runs out and any worker claims the row."""
        self._taker = taker

    def record(self, kind: str, body: dict[str, Any]) -> int:
        """The web path's one statement: the row is committed when this returns (then the ack may go)."""
        clean = {key: value for key, value in body.items() if key not in SECRET_FIELDS}
        now = self.clock()
        taker = self._taker if self._taker is not None and self._taker.reserve() else None
        try:
            interaction_id = self._insert(kind, clean, now, now + self.lease if taker else None)
        except BaseException:
            if taker is not None:
                taker.release()
            raise
        if taker is not None:
            taker.take(Job(interaction_id, kind, clean, 1, now))
            return interaction_id
        if self.announcer is not None:
            self.announcer()  # the workers of other processes, once the row is committed (it is by now)
        for wake in self._listeners:
            wake()
        return interaction_id

    def claim(self, limit: int = 1, exclude: Collection[int] = ()) -> list[Job]:
        return self.claim_and_look(limit, exclude)[0]

    def claim_and_look(self, limit: int = 1, exclude: Collection[int] = ()) -> tuple[list[Job], bool]:
        """Up to `limit` jobs, leased to the caller, and whether another one is waiting."""
        now = self.clock()
        with self.db.begin() as session:
            rows, more = InteractionRepository(session).claim_and_look(now, now + self.lease, limit, exclude)
            return [Job(row.id, row.kind, dict(row.body), row.attempts, row.created_at) for row in rows], more

    def renew(self, ids: Collection[int]) -> None:
        with self.db.begin() as session:
            InteractionRepository(session).renew(ids, self.clock() + self.lease)

    def finish(self, interaction_id: int) -> None:
        with self.db.begin() as session:
            InteractionRepository(session).finish(interaction_id)

    def depth(self) -> tuple[int, float]:
        """Rows waiting or running, and the oldest one's age in seconds (0 when empty)."""
        with self.db.begin() as session:
            count, oldest = InteractionRepository(session).depth()
        return count, (self.clock() - oldest).total_seconds() if oldest else 0.0


Insert = Callable[[str, dict[str, Any], datetime, datetime | None], int]


def _inserter(db: sessionmaker[Session]) -> tuple[Insert, Announcer | None]:
    """How `record` writes its row on the engine of `db`, committed when it returns, and how it tells the workers
    of other processes. On PostgreSQL the driver sends the INSERT in autocommit (`send_interaction`): one round trip
    instead of BEGIN, INSERT, COMMIT, durable all the same; an `Announcer` wakes the other processes' workers after
    it. SQLite keeps a transaction of its own with its BEGIN IMMEDIATE (a connection, not an ORM session), and has
    no other processes to wake."""
    with db() as session:
        bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if sends_directly(engine):
        return (lambda kind, body, now, lease_until: send_interaction(engine, kind, body, now, lease_until),
                Announcer(engine))

    def insert(kind: str, body: dict[str, Any], now: datetime, lease_until: datetime | None) -> int:
        with engine.begin() as connection:
            return add_interaction(connection, kind, body, now, lease_until=lease_until)

    return insert, None
