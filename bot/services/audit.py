"""The audit trail read back: pages for admins in Slack, exports and chain verification for the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.audit import GENESIS, Checkpoint
from bot.domain.audit_chain import ChainCheck
from bot.domain.errors import InvalidInput, NotAllowed
from bot.services.base import Clock, UseCase
from bot.services.read_models import AuditRead
from storage.models import AuditEvent
from storage.repositories import AuditRepository
from storage.repositories.audit import link_of
from storage.repositories.audit_checkpoints import CheckpointRepository

log = logging.getLogger(__name__)

PAGE_SIZE = 15
BATCH = 1000  # events per short read transaction when exporting or verifying
FILTERS = {"user": "actor", "action": "action", "target": "target", "outcome": "outcome"}
MAX_PAGE = 10_000


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, and how to ask for the next."""

    events: tuple[AuditRead, ...]
    filters: dict[str, str] = field(default_factory=dict)
    page: int = 1
    has_more: bool = False

    @property
    def last_id(self) -> int | None:
        return self.events[-1].id if self.events else None


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: how many events it checked and the first one that breaks the chain."""

    checked: int
    broken_at: int | None = None
    reason: str = ""
    last_hash: str = GENESIS
    keyed: int = 0  # events chained with PAM_AUDIT_KEY (the others with plain SHA-256, from before it was set)
    checkpoint: Checkpoint | None = None  # the latest signed head the chain was held against


class AuditService(UseCase):
    """Admins read the trail in Slack; the CLI exports and verifies it (as the operator, so unchecked)."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock,
                 admin_ids: Callable[[], frozenset[str]] = frozenset) -> None:
        super().__init__(db=db, clock=clock)
        self.admin_ids = admin_ids

    def page(self, *, actor: str, filters: Mapping[str, str], page: int = 1,
             before_id: int | None = None) -> AuditPage:
        """Events matching `filters`, newest first; `before_id` continues after a page already shown."""
        if actor not in self.admin_ids():
            self.record(actor, "audit.view", "", "refused", code="not_allowed")
            raise NotAllowed("Only pam-bot admins can read the audit trail.")
        unknown = set(filters) - set(FILTERS)
        if unknown or not 1 <= page <= MAX_PAGE:
            raise InvalidInput("Filter by user, action, target or outcome, on a page from 1 up.")
        query = {FILTERS[key]: value for key, value in filters.items() if value}
        offset = 0 if before_id else (page - 1) * PAGE_SIZE
        with self.transaction() as tx:
            rows = AuditRepository(tx.session).page(**query, before_id=before_id, offset=offset,
                                                    limit=PAGE_SIZE + 1)
            events = tuple(AuditRead.of(row) for row in rows[:PAGE_SIZE])
        return AuditPage(events, dict(filters), page, has_more=len(rows) > PAGE_SIZE)

    def export(self, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every event from `since` on, oldest first, as plain records (read in short transactions)."""
        for batch in self._batches(since):
            yield from (record_of(event) for event in batch)

    def verify(self) -> ChainReport:
        """Walk the whole chain, then hold it against the latest checkpoint; report the first thing that breaks."""
        with self.transaction() as tx:
            key = AuditRepository(tx.session).key
            latest = CheckpointRepository(tx.session).latest()
        check = ChainCheck(key, latest[1] if latest else None)
        intact = all(check.add(link_of(event)) for batch in self._batches(None) for event in batch)
        if intact:
            check.finish()
        return ChainReport(check.checked, check.broken_at, check.reason, check.last_hash, check.keyed,
                           check.checkpoint)

    def require_writable(self) -> None:
        """Refuse (ConfigError) now what appending an event would refuse later: a keyed chain without the key."""
        with self.transaction() as tx:
            repository = AuditRepository(tx.session)
            repository.require_key_for(repository.head())

    def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head if it moved; None when nothing moved or the chain no longer holds the last one."""
        with self.transaction() as tx:
            events, marks = AuditRepository(tx.session), CheckpointRepository(tx.session)
            head = events.locked_head()  # the chain's lock is held: the head and the count describe one moment
            if head is None:
                return None
            events.require_key_for(head)
            latest = marks.latest()
            base_id, base_count = 0, 0
            if latest is not None:
                last = latest[1]
                if (last.head_id, last.head_hash) == (head.id, head.hash):
                    return None
                problem = last.problem(events.key) or (
                    None if head.id > last.head_id and marks.event_hash(last.head_id) == last.head_hash
                    else "the chain no longer holds the head it signed: newest events were deleted")
                if problem:  # signing now would hide the cut; `audit verify` shows it
                    log.error("audit checkpoint refused: %s; run `pam-bot audit verify`", problem)
                    return None
                base_id, base_count = last.head_id, last.count
            count = base_count + marks.count_between(base_id, head.id)
            checkpoint = Checkpoint(head.id, head.hash, count, tx.now).signed(events.key)
            marks.add(checkpoint)
        return checkpoint

    def _batches(self, since: datetime | None) -> Iterator[list[AuditEvent]]:
        last_id = 0
        while True:
            with self.transaction() as tx:
                batch = list(AuditRepository(tx.session).after(last_id, since=since, limit=BATCH))
            if not batch:
                return
            yield batch
            last_id = batch[-1].id


def record_of(event: AuditEvent) -> dict[str, Any]:
    """An event as an export line: what happened, and the hashes that let anyone re-check the chain."""
    return {"id": event.id, "at": event.at.isoformat(timespec="microseconds"), "actor": event.actor,
            "action": event.action, "target": event.target, "outcome": event.outcome,
            "details": dict(event.details or {}), "prev_hash": event.prev_hash, "hash": event.hash,
            "scheme": event.scheme}
