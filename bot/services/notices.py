"""Exactly-once notices for claimed rows: mark in a savepoint, send, keep the mark only if Slack took it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.audit import AuditEntry
from bot.domain.errors import NotifyFailed
from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.views import load_view
from storage.models import AccessRequest, AccessSession

log = logging.getLogger(__name__)
MAX_NOTICE_FAILURES = 5  # then the row is marked anyway and the failure audited: one person cannot block a queue

Row = AccessRequest | AccessSession


@dataclass(frozen=True)
class Notice:
    """One kind of notice: how to send it, how to mark its row as done, what the audit trail calls it."""

    action: str
    send: Callable[[RequestView], None]
    mark: Callable[[Any, datetime], None]
    details: Callable[[Any, AccessRequest], dict[str, Any]] = field(default=lambda row, request: {})
    outcome: str = "ok"  # what the audit says once the notice is out ("failed" for a grant given up)


@dataclass(frozen=True)
class BatchResult:
    """What one claimed batch came to."""

    claimed: int = 0
    handled: int = 0
    failed: int = 0


def deliver(tx: Tx, rows: Sequence[Row], notice: Notice) -> BatchResult:
    """Send `notice` for every claimed row in this transaction; its audit events are chained at commit.

    Chaining at commit keeps the audit chain's lock (held until commit) for milliseconds instead of for
    the whole batch of Slack calls, so replicas working on other rows do not queue behind each other.
    """
    tx.requests.by_ids([row.request_id for row in rows if isinstance(row, AccessSession)])  # one query, not N
    events: list[AuditEntry] = []
    handled = failed = 0
    for row in rows:
        sent, event = _one(tx, row, notice)
        handled += sent
        failed += not sent
        if event is not None:
            events.append(event)
    tx.pending.extend(events)
    return BatchResult(claimed=len(rows), handled=handled, failed=failed)


def _one(tx: Tx, row: Row, notice: Notice) -> tuple[bool, AuditEntry | None]:
    """Mark, send, keep the mark only if the send worked (the savepoint undoes it otherwise)."""
    request = _request_of(tx, row)
    details = notice.details(row, request)
    savepoint = tx.session.begin_nested()
    notice.mark(row, tx.now)
    tx.session.flush()
    try:
        notice.send(load_view(tx, request))
    except NotifyFailed as error:
        code = error.code
    except Exception:  # one bad row must not roll back (and so repeat) the notices already sent
        log.exception("%s for %s failed unexpectedly", notice.action, row.ref)
        code = "unexpected_error"
    else:
        savepoint.commit()
        return True, AuditEntry("pam-bot", notice.action, row.ref, notice.outcome, details)
    savepoint.rollback()
    row.notice_failures += 1
    if row.notice_failures < MAX_NOTICE_FAILURES:
        tx.session.flush()
        log.warning("%s for %s not sent (%s); the next tick tries again", notice.action, row.ref, code)
        return False, None
    notice.mark(row, tx.now)
    tx.session.flush()
    return True, AuditEntry("pam-bot", notice.action, row.ref, "failed",
                            {**details, "notify_code": code, "notify_attempts": row.notice_failures})


def _request_of(tx: Tx, row: Row) -> AccessRequest:
    if isinstance(row, AccessRequest):
        return row
    request = tx.requests.by_id(row.request_id)
    assert request is not None  # sessions.request_id is a foreign key
    return request
