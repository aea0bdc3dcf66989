"""The audit trail: append with the hash chain, read back in pages or streams."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, select, text
from sqlalchemy.orm import Session

from bot.domain.audit import GENESIS, KEYED, AuditEntry, AuditKey, Link, chain_hash, scheme_of
from bot.domain.errors import ConfigError
from bot.domain.text import clip
from storage.models import AuditEvent
from storage.repositories._bulk import insert_in_order

_CHAIN_LOCK = 0x70616D  # advisory lock key that serialises appends across replicas
_LOCKED_HEAD = text("SELECT id, hash, scheme FROM pam_audit_head(:key)")
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
# Per engine: whether migration 0017's function was there when this process first appended. A process that
# started before the migration (a rolling deploy) takes the lock and reads the head in two statements instead.
_HEAD_FUNCTION: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()
AUDIT_KEY = "pam_audit_key"  # Session.info entry carrying the AuditKey (see storage.db.make_sessionmaker)
# Session.info entry: set it to a list, and each transaction's events are listed there as (action, outcome,
# details) when written (the metrics count them once the transaction commits).
WRITTEN = "pam_audit_written"
EVENTS = cast(Table, AuditEvent.__table__)
# The bounded text columns of an event, with their sizes as the model declares them.
LIMITS: dict[str, int | None] = {name: getattr(AuditEvent.__table__.c[name].type, "length", None)
                                 for name in ("actor", "action", "target", "outcome")}


class Head(NamedTuple):
    """What appending to the chain needs of its last event."""

    id: int
    hash: str
    scheme: str


class AuditRepository:
    """Append-only access to audit_events."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.key: AuditKey | None = session.info.get(AUDIT_KEY)

    def head(self) -> Head | None:
        """The chain's last event: its id, hash and scheme (three columns, no object loaded)."""
        found = self.session.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.scheme)
                                     .order_by(AuditEvent.id.desc()).limit(1)).first()
        return Head(*found) if found is not None else None

    def locked_head(self) -> Head | None:
        """`head()`, with the chain's lock held until the transaction ends. On PostgreSQL the advisory lock and the
        read are one statement (the function of migration 0017 reads the head once the lock is granted, with a
        snapshot of that moment), or two where the function is not there yet; SQLite's writers queue anyway."""
        bind = self.session.get_bind()
        if bind.dialect.name != "postgresql":
            return self.head()
        engine = bind if isinstance(bind, Engine) else bind.engine
        if (function := _HEAD_FUNCTION.get(engine)) is None:
            function = _HEAD_FUNCTION[engine] = bool(self.session.scalar(
                text("SELECT to_regprocedure('pam_audit_head(bigint)') IS NOT NULL")))
        if not function:
            self.session.execute(_LOCK, {"key": _CHAIN_LOCK})
            return self.head()
        found = self.session.execute(_LOCKED_HEAD, {"key": _CHAIN_LOCK}).first()
        return Head(*found) if found is not None else None

    def require_key_for(self, head: Head | None) -> None:
        """Fail closed: once the chain is keyed, an event without the key would break it for good."""
        if head is not None and head.scheme == KEYED and self.key is None:
            raise ConfigError("The audit trail is keyed and PAM_AUDIT_KEY is not set here: set it to the key the "
                              "bot uses (nothing was recorded or changed).", code="audit_key_missing")

    def append(self, entry: AuditEntry, now: datetime) -> None:
        """Add one event chained to the previous one (the chain's lock is held until the transaction ends)."""
        self.append_many([entry], now)

    def append_many(self, entries: Sequence[AuditEntry], now: datetime) -> None:
        """Add events in order: the lock and the read of the chain's end (one statement), the links made here and
        one INSERT, however many there are (a sweep's batch has hundreds).

        Also lists the events in `Session.info[WRITTEN]` when someone put a list there.
        """
        if not entries:
            return
        head = self.locked_head()
        self.require_key_for(head)
        prev, scheme = head.hash if head is not None else GENESIS, scheme_of(self.key)
        fitted, rows = [fit(entry) for entry in entries], []
        for entry in fitted:
            digest = chain_hash(prev, now, entry, self.key)
            rows.append({"actor": entry.actor, "action": entry.action, "target": entry.target,
                         "outcome": entry.outcome, "details": entry.details, "prev_hash": prev, "hash": digest})
            prev = digest
        insert_in_order(self.session, EVENTS, rows, at=now, scheme=scheme)  # ids follow the chain
        written = self.session.info.get(WRITTEN)
        if written is not None:
            written.extend((entry.action, entry.outcome, dict(entry.details)) for entry in fitted)

    def page(self, *, actor: str | None = None, action: str | None = None, target: str | None = None,
             before_id: int | None = None, limit: int = 20, outcome: str | None = None,
             offset: int = 0) -> Sequence[AuditEvent]:
        """Newest first; `before_id` pages by key, `offset` skips whole pages (a typed page number)."""
        query = select(AuditEvent)
        if outcome:
            query = query.where(AuditEvent.outcome == outcome)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if action:
            query = query.where(AuditEvent.action.startswith(action))
        if target:
            query = query.where(AuditEvent.target.contains(target))
        if before_id:
            query = query.where(AuditEvent.id < before_id)
        return self.session.scalars(query.order_by(AuditEvent.id.desc()).offset(offset).limit(limit)).all()

    def after(self, last_id: int, *, since: datetime | None = None, limit: int = 1000) -> Sequence[AuditEvent]:
        """The next `limit` events after `last_id` in id (chain) order; callers page in short transactions."""
        query = select(AuditEvent).where(AuditEvent.id > last_id)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        return self.session.scalars(query.order_by(AuditEvent.id).limit(limit)).all()


def fit(entry: AuditEntry) -> AuditEntry:
    """`entry` with each text field cut to its column, marked `…[+N]`: typed text never costs the event."""
    cut: dict[str, Any] = {name: clip(getattr(entry, name), limit) for name, limit in LIMITS.items()
                           if limit is not None and len(getattr(entry, name)) > limit}
    return replace(entry, **cut) if cut else entry


def entry_of(event: AuditEvent) -> AuditEntry:
    """The chained content of a stored event."""
    return AuditEntry(actor=event.actor, action=event.action, target=event.target, outcome=event.outcome,
                      details=dict(event.details or {}))


def link_of(event: AuditEvent) -> Link:
    """A stored event as the chain check reads it."""
    return Link(event.id, event.prev_hash, event.hash, event.at, event.scheme, entry_of(event))
