"""Notices for claimed rows: queue each row's notice in the outbox and mark the batch, in the claim's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from bot.domain.audit import AuditEntry
from bot.domain.errors import NotifyFailed
from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.read_models import RequestRead, SessionRead
from bot.services.views import load_views, read_request, read_session
from storage.repositories import RequestRepository, SessionRepository
from storage.repositories.deliveries import DeliveryRepository

log = logging.getLogger(__name__)
MAX_NOTICE_FAILURES = 5  # then the row is marked anyway and the failure audited: one person cannot block a queue

NOW = object()  # in a Mark's values: the transaction's time


@dataclass(frozen=True)
class Mark:
    """What a notice's row gets once the notice is queued: these columns (`NOW` stands for the transaction's
    time). A status among them is checked against the declared life cycle when the batch is written."""

    values: Mapping[str, Any]

    def at(self, now: datetime) -> dict[str, Any]:
        return {name: now if value is NOW else value for name, value in self.values.items()}


@dataclass(frozen=True)
class Notice:
    """One kind of notice: which rows it is about (sessions or requests), how to send it, how to mark its row
    as done, what the audit trail calls it. `details` gets the claimed row and its request."""

    action: str
    about: type[SessionRead] | type[RequestRead]
    send: Callable[[RequestView], None]
    mark: Mark
    details: Callable[[Row[Any], RequestRead], dict[str, Any]] = field(default=lambda row, request: {})
    outcome: str = "ok"  # what the audit says once the notice is out ("failed" for a grant given up)


@dataclass(frozen=True)
class BatchResult:
    """What one claimed batch came to."""

    claimed: int = 0
    handled: int = 0
    failed: int = 0


def deliver(tx: Tx, rows: Sequence[Row[Any]], notice: Notice) -> BatchResult:
    """Queue every claimed row's notice and mark the rows in this transaction; the outbox sends after the commit.

    No Slack call happens here, and a batch costs the same few statements whatever its size: the views are
    loaded together, the marks written in one UPDATE, the outbox rows in one INSERT and the audit events
    chained at commit in one more (so the chain's lock is held for one insert). The claimed rows are plain
    rows; each is copied once, as its mark leaves it, into the read model its notice renders.
    """
    if not rows:
        return BatchResult()
    values = notice.mark.at(tx.now)
    views, requests = _views(tx, rows, values, sessions=notice.about is SessionRead)
    outbox = DeliveryRepository(tx.session)
    marked: list[Row[Any]] = []
    failures: dict[int, int] = {}
    events: list[AuditEntry] = []
    for row, request in zip(rows, requests, strict=True):
        details = notice.details(row, request)
        queued = outbox.buffered()
        code = _send(notice, views[request.id])
        if code is None:
            marked.append(row)
            events.append(AuditEntry("pam-bot", notice.action, row.ref, notice.outcome, details))
            continue
        outbox.drop_buffered(queued)  # a half-rendered notice leaves nothing queued
        failures[row.id] = row.notice_failures + 1
        if failures[row.id] < MAX_NOTICE_FAILURES:
            log.warning("%s for %s not queued (%s); the next tick tries again", notice.action, row.ref, code)
            continue
        marked.append(row)
        events.append(AuditEntry("pam-bot", notice.action, row.ref, "failed",
                                 {**details, "notify_code": code, "notify_attempts": failures[row.id]}))
    _write(tx.sessions if notice.about is SessionRead else tx.requests, marked, failures, values)
    tx.pending.extend(events)
    return BatchResult(claimed=len(rows), handled=len(marked), failed=len(rows) - len(marked))


def _views(tx: Tx, rows: Sequence[Row[Any]], values: dict[str, Any], *,
           sessions: bool) -> tuple[dict[int, RequestView], list[RequestRead]]:
    """The batch's views as the marks leave them (by request id), and each row's request."""
    if sessions:
        marked = {row.request_id: read_session(row, **values) for row in rows}
        found = {request.id: request for request in map(read_request, tx.requests.rows_by_ids(sorted(marked)))}
        return load_views(tx, list(found.values()), marked), [found[row.request_id] for row in rows]
    requests = [read_request(row, **values) for row in rows]
    return load_views(tx, requests), requests


def _send(notice: Notice, view: RequestView) -> str | None:
    """Render and queue one notice; the error code when it could not be."""
    try:
        notice.send(view)
    except NotifyFailed as error:
        return error.code
    except Exception:  # one bad row must not roll back (and so repeat) the notices already queued
        log.exception("%s for %s failed unexpectedly", notice.action, view.request.ref)
        return "unexpected_error"
    return None


def _write(repo: SessionRepository | RequestRepository, marked: Sequence[Row[Any]], failures: dict[int, int],
           values: dict[str, Any]) -> None:
    """The marks in one UPDATE per claimed status (normally one), then the failure counts in one statement.

    The claim holds these rows, so each UPDATE must change every one of them; anything else means another
    writer got in, and the batch rolls back rather than send notices for rows it did not mark.
    """
    by_status: dict[Any, list[int]] = {}
    for row in marked:
        by_status.setdefault(row.status, []).append(row.id)
    for status, ids in by_status.items():
        changed = repo.mark(ids, status, **values)
        if changed != len(ids):
            raise RuntimeError(f"marked {changed} of {len(ids)} claimed rows: another writer changed them")
    repo.count_notice_failures(failures)
