"""Notices for claimed rows: mark each row and queue its notice in the outbox, in the claim's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.audit import AuditEntry
from bot.domain.errors import NotifyFailed
from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.read_models import RequestRead, SessionRead
from bot.services.views import load_views
from storage.models import AccessRequest, AccessSession
from storage.repositories.deliveries import DeliveryRepository

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
    """Mark every claimed row and queue its notice in this transaction; the outbox sends them after the commit.

    No Slack call happens here, and the batch costs a few queries, not a few per row: the views are loaded
    together, the marks flushed together, the outbox rows written in one INSERT and the audit events chained
    at commit (so the chain's lock is held for one insert).
    """
    requests = {r.id: r for r in tx.requests.by_ids(sorted({_request_id(row) for row in rows}))}
    views = load_views(tx, list(requests.values()),
                       {row.request_id: row for row in rows if isinstance(row, AccessSession)})
    outbox = DeliveryRepository(tx.session)
    events: list[AuditEntry] = []
    handled = failed = 0
    for row in rows:
        request = requests[_request_id(row)]
        sent, event = _one(tx, outbox, row, request, views[request.id], notice)
        handled += sent
        failed += not sent
        if event is not None:
            events.append(event)
    tx.session.flush()
    tx.pending.extend(events)
    return BatchResult(claimed=len(rows), handled=handled, failed=failed)


def _one(tx: Tx, outbox: DeliveryRepository, row: Row, request: AccessRequest, view: RequestView,
         notice: Notice) -> tuple[bool, AuditEntry | None]:
    """Mark, queue; should the notice not render, undo the mark (nothing was flushed yet) and count the failure."""
    details = notice.details(row, request)
    queued = outbox.buffered()
    notice.mark(row, tx.now)
    try:
        notice.send(_marked(view, row, request))
    except NotifyFailed as error:
        code = error.code
    except Exception:  # one bad row must not roll back (and so repeat) the notices already sent
        log.exception("%s for %s failed unexpectedly", notice.action, row.ref)
        code = "unexpected_error"
    else:
        return True, AuditEntry("pam-bot", notice.action, row.ref, notice.outcome, details)
    outbox.drop_buffered(queued)
    tx.session.expire(row)  # drops the unflushed mark
    row.notice_failures += 1
    if row.notice_failures < MAX_NOTICE_FAILURES:
        log.warning("%s for %s not queued (%s); the next tick tries again", notice.action, row.ref, code)
        return False, None
    notice.mark(row, tx.now)
    return True, AuditEntry("pam-bot", notice.action, row.ref, "failed",
                            {**details, "notify_code": code, "notify_attempts": row.notice_failures})


def _marked(view: RequestView, row: Row, request: AccessRequest) -> RequestView:
    """The view as the mark left it: a read model is a copy, so the marked rows are copied again."""
    session = SessionRead.of(row) if isinstance(row, AccessSession) else view.session
    return replace(view, request=RequestRead.of(request), session=session)


def _request_id(row: Row) -> int:
    return row.id if isinstance(row, AccessRequest) else row.request_id
