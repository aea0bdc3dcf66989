"""Time-driven work: warnings, end notices, request timeouts, reminders, crash recovery.

Each sweep claims due rows (row locks with SKIP LOCKED on PostgreSQL, serialised writers on SQLite),
sends its notice and marks the row in the same transaction. Another replica never sees a claimed row;
a failed send leaves the row due, so the next tick tries again; after MAX_NOTICE_FAILURES the row is
marked anyway and the failure audited, so one unreachable person cannot block a queue forever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import NotifyFailed
from bot.services.base import Clock, Tx, UseCase
from bot.services.grants import GrantService
from bot.services.ports import Notifier, RequestView
from bot.services.views import load_view
from storage.models import AccessRequest, AccessSession

log = logging.getLogger(__name__)
MAX_NOTICE_FAILURES = 5
STUCK_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class TickReport:
    """How many rows each sweep handled in one tick."""

    recovered: int = 0
    expired: int = 0
    reminded: int = 0
    warned: int = 0
    ended: int = 0
    pruned: int = 0


class SweepService(UseCase):
    """The scheduler's work; every method is safe to run on several replicas at once."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, notifier: Notifier, grants: GrantService,
                 warning: timedelta, request_timeout: timedelta, batch: int = 200,
                 prune_revocations: Callable[[], int] = lambda: 0) -> None:
        super().__init__(db=db, clock=clock)
        self.notifier = notifier
        self.grants = grants
        self.warning = warning
        self.request_timeout = request_timeout
        self.batch = batch
        self.prune_revocations = prune_revocations

    def tick(self) -> TickReport:
        return TickReport(recovered=self.recover_stuck(), expired=self.expire_requests(),
                          reminded=self.remind_approvers(), ended=self.end_sessions(), warned=self.warn_sessions(),
                          pruned=self.prune_revocations())

    def warn_sessions(self) -> int:
        with self.transaction() as tx:
            rows = tx.sessions.claim_due_warning(tx.now, tx.now + self.warning, self.batch)
            return sum(self._session_notice(tx, row, self.notifier.warn_expiry, "session.warned",
                                            lambda r: setattr(r, "warned_at", tx.now)) for row in rows)

    def end_sessions(self) -> int:
        with self.transaction() as tx:
            rows = tx.sessions.claim_due_end(tx.now, self.batch)
            return sum(self._session_notice(tx, row, self.notifier.announce_end, "session.ended", _ended(tx))
                       for row in rows)

    def expire_requests(self) -> int:
        with self.transaction() as tx:
            rows = tx.requests.claim("pending", tx.now - self.request_timeout, self.batch)
            return sum(self._request_notice(tx, row, self._tell_expired, "request.expired", _expired(tx))
                       for row in rows)

    def remind_approvers(self) -> int:
        with self.transaction() as tx:
            rows = tx.requests.claim("pending", tx.now - self.request_timeout / 2, self.batch, unreminded=True)
            return sum(self._request_notice(tx, row, self.notifier.remind_approvers, "request.reminded",
                                            lambda r: setattr(r, "reminded_at", tx.now)) for row in rows)

    def recover_stuck(self) -> int:
        """Retry once a grant a crash interrupted, then fail it with a message to everyone."""
        with self.transaction() as tx:
            ids = tx.requests.stuck_approved(tx.now - STUCK_AFTER, self.batch)
        handled = 0
        for request_id in ids:
            if self.grants.grant(request_id) is None:
                handled += self.grants.fail(request_id, code="grant_interrupted",
                                            message="pam-bot was interrupted twice while creating the session; "
                                                    "please ask again") is not None
            else:
                handled += 1
        return handled

    def _tell_expired(self, view: RequestView) -> None:
        self.notifier.update_request_cards(view)
        self.notifier.tell_requester(view, "expired")

    def _session_notice(self, tx: Tx, row: AccessSession, send: Callable[[RequestView], None], action: str,
                        mark: Callable[[AccessSession], None]) -> int:
        request = tx.requests.by_id(row.request_id)
        assert request is not None
        return self._process(tx, row, request, send, action, mark)

    def _request_notice(self, tx: Tx, row: AccessRequest, send: Callable[[RequestView], None], action: str,
                        mark: Callable[[AccessRequest], None]) -> int:
        return self._process(tx, row, row, send, action, mark)

    def _process(self, tx: Tx, row: Any, request: AccessRequest, send: Callable[[RequestView], None],
                 action: str, mark: Callable[[Any], None]) -> int:
        """Mark, send, keep the mark only if the send worked (a savepoint undoes it otherwise)."""
        savepoint = tx.session.begin_nested()
        mark(row)
        tx.session.flush()
        try:
            send(load_view(tx, request))
        except NotifyFailed as error:
            savepoint.rollback()
            row.notice_failures += 1
            if row.notice_failures < MAX_NOTICE_FAILURES:
                tx.session.flush()
                log.warning("%s for %s not sent (%s); retrying next tick", action, row.ref, error.code)
                return 0
            mark(row)
            tx.session.flush()
            tx.audit("pam-bot", action, row.ref, "failed", code=error.code, attempts=row.notice_failures)
            return 1
        savepoint.commit()
        tx.audit("pam-bot", action, row.ref)
        return 1


def _ended(tx: Tx) -> Callable[[AccessSession], None]:
    def mark(row: AccessSession) -> None:
        row.status, row.ended_at = "ended", tx.now
    return mark


def _expired(tx: Tx) -> Callable[[AccessRequest], None]:
    def mark(row: AccessRequest) -> None:
        row.status, row.updated_at = "expired", tx.now
    return mark
