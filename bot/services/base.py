"""What every use-case shares: the transaction boundary, the clock and the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.audit import AuditEntry
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound, PamError
from storage.locks import held, hold_in
from storage.repositories import AuditRepository, ConfigRepository, RequestRepository, SessionRepository
from storage.repositories.deliveries import DeliveryRepository

Clock = Callable[[], datetime]
# The session of the transaction this thread is in, if any: the outbox queues in it, so a message owed for a
# change commits (or rolls back) with that change.
current_session: ContextVar[Session | None] = ContextVar("current_session", default=None)
# Who wants to hear, per database, that outbox rows were committed (the in-process deliverer: it wakes at once
# instead of at its next poll; rows other processes queue are found by polling).
_queued_listeners: WeakKeyDictionary[sessionmaker[Session], list[Callable[[], None]]] = WeakKeyDictionary()


def on_queued(db: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call `wake` after each commit on `db` that wrote outbox rows due now."""
    _queued_listeners.setdefault(db, []).append(wake)


@dataclass
class Tx:
    """One open transaction with its repositories and the time it started.

    Audit events wait in `pending` and are chained in one go just before the commit: the chain's lock (on
    PostgreSQL an advisory lock held until commit, shared by every replica) is then held for one insert,
    not for the rest of the transaction.
    """

    session: Session
    now: datetime
    pending: list[AuditEntry] = field(default_factory=list)

    @property
    def config(self) -> ConfigRepository:
        return ConfigRepository(self.session)

    @property
    def requests(self) -> RequestRepository:
        return RequestRepository(self.session)

    @property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.session)

    def audit(self, actor: str, action: str, target: str = "", outcome: str = "ok", **details: Any) -> None:
        """Record an event; it is written with the transaction's commit, or not at all on rollback."""
        self.pending.append(AuditEntry(actor, action, target, outcome, details))

    def lock(self, name: str) -> None:
        """Serialise this transaction with every other one (any replica) that locks `name`, until commit."""
        hold_in(self.session, name)

    def write_audit(self) -> None:
        """Chain the pending events (the caller commits right after)."""
        entries, self.pending = self.pending, []
        AuditRepository(self.session).append_many(entries, self.now)


class UseCase:
    """Base of the services: `transaction()` is the only way to touch the database."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock) -> None:
        self.db = db
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.db.begin() as session:
            token = current_session.set(session)
            try:
                tx = Tx(session, self.clock())
                yield tx
                queued = DeliveryRepository(session).flush_buffer(tx.now)
                tx.write_audit()
            finally:
                current_session.reset(token)
        if queued:
            for wake in _queued_listeners.get(self.db, ()):
                wake()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock `name` for the block, across every replica on the database (not inside a transaction)."""
        with held(self.db, name):
            yield

    def record(self, actor: str, action: str, target: str = "", outcome: str = "ok", **details: Any) -> None:
        """Write one audit event in its own transaction."""
        with self.transaction() as tx:
            tx.audit(actor, action, target, outcome, **details)

    @contextmanager
    def audited(self, actor: str, action: str, target: str = "") -> Iterator[None]:
        """Audit a refusal: a PamError raised inside is recorded (its transaction rolled back) and re-raised."""
        try:
            yield
        except PamError as error:
            outcome = "refused" if isinstance(error, _REFUSALS) else "failed"
            self.record(actor, action, target, outcome, code=error.code, message=error.user_message,
                        **({"detail": error.detail} if error.detail else {}))
            raise


_REFUSALS = (InvalidInput, NotFound, NotAllowed, Conflict)  # the person was told no; anything else failed
