"""Notices for claimed rows: the tick marks the batch and queues small outbox rows (one per fifty notices); the
outbox's workers render each later (`render`): its notices' Slack messages and audit events, in one transaction."""

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
from bot.services.views import load_views, read_request
from storage.repositories import RequestRepository, SessionRepository
from storage.repositories.deliveries import DeliveryRepository

log = logging.getLogger(__name__)
NOTICE = "notice"  # the outbox kind of a row a tick queued: a worker renders it into its messages' rows
NOW = object()  # in a Mark's values: the transaction's time
RENDER_BATCH = 50  # notices in one outbox row: a worker renders them in one transaction
CARDS_CLOSED = "request.cards_closed"  # a request cancelled because Slack refused one of its cards: the others close

Args = Mapping[str, Any]  # what a notice's row carries besides its row: the same for the whole batch


@dataclass(frozen=True)
class Mark:
    """What a notice's row gets once the notice is queued: these columns (`NOW` stands for the transaction's
    time). A status among them is checked against the declared life cycle when the batch is written."""

    values: Mapping[str, Any]

    def at(self, now: datetime) -> dict[str, Any]:
        return {name: now if value is NOW else value for name, value in self.values.items()}


@dataclass(frozen=True)
class Notice:
    """One kind of notice: which rows it is about (sessions or requests), how to send it, what the audit trail
    calls it. `send` and `details` get the batch's `args`; `details` the row (as its read model) and its request."""

    action: str
    about: type[SessionRead] | type[RequestRead]
    send: Callable[[RequestView, Args], None]
    details: Callable[[SessionRead | RequestRead, RequestRead, Args], dict[str, Any]] = field(
        default=lambda row, request, args: dict(args))
    outcome: str = "ok"  # what the audit says once the notice is out ("failed" for a grant given up)


def deliver(tx: Tx, rows: Sequence[Row[Any]], notice: Notice, mark: Mark, args: Args | None = None) -> int:
    """Mark every claimed row and queue its notice, in this transaction (nothing is rendered here); how many.

    A batch costs the same two statements whatever its size: the marks in one UPDATE, and one INSERT of a few
    small outbox rows, each naming up to RENDER_BATCH notices (which notice, which rows). A worker renders each
    outbox row after the commit (`render`), with the state its rows are in then, and audits every notice there:
    a notice is recorded once its messages are queued.
    """
    if not rows:
        return 0
    _write(tx.sessions if notice.about is SessionRead else tx.requests, rows, mark.at(tx.now))
    outbox = DeliveryRepository(tx.session)
    items = [(row.id, row.request_id if notice.about is SessionRead else row.id) for row in rows]
    for start in range(0, len(items), RENDER_BATCH):
        outbox.buffer(notice_row(notice.action, items[start:start + RENDER_BATCH], args))
    return len(rows)


def notice_row(action: str, items: Sequence[tuple[int, int]], args: Args | None = None) -> dict[str, Any]:
    """The outbox row (the keyword arguments of `DeliveryRepository.add`) of the notice `action` about `items`:
    (row id, request id) pairs, up to RENDER_BATCH of them."""
    return {"kind": NOTICE, "channel": "", "payload": {"notice": action, "args": dict(args or {}),
                                                       "rows": [list(item) for item in items]}}


def render(tx: Tx, delivery_id: int, notices: Mapping[str, Notice]) -> int:
    """Render the notices of outbox row `delivery_id` (claimed by the caller) in the caller's transaction: each
    one's messages are queued and its audit event written, and the row settled, all in one commit. Their views
    are loaded together (three queries), with the state the rows are in now. How many notices were rendered
    (0: the row was settled already, by another worker; a notice whose row is gone is skipped)."""
    outbox = DeliveryRepository(tx.session)
    payload = outbox.settle_queued(delivery_id, tx.now)
    if payload is None:
        return 0
    notice, args, items = notices[payload["notice"]], payload.get("args") or {}, payload["rows"]
    requests = [read_request(row) for row in tx.requests.rows_by_ids(sorted({request_id for _, request_id in items}))]
    views = load_views(tx, requests)
    rendered = 0
    for row_id, request_id in items:
        view = views.get(request_id)
        about = (view.session if notice.about is SessionRead else view.request) if view is not None else None
        if view is None or about is None or about.id != row_id:
            log.warning("%s: row %s is gone, nothing to say", notice.action, row_id)
            continue
        details, rendered = notice.details(about, view.request, args), rendered + 1
        queued = outbox.buffered()
        code = _send(notice, view, args)
        if code is None:
            tx.pending.append(AuditEntry("pam-bot", notice.action, about.ref, notice.outcome, details))
            continue
        outbox.drop_buffered(queued)  # a half-rendered notice leaves nothing queued; said once, in the audit trail
        tx.pending.append(AuditEntry("pam-bot", notice.action, about.ref, "failed", {**details, "notify_code": code}))
    return rendered


def _send(notice: Notice, view: RequestView, args: Args) -> str | None:
    """Render and queue one notice; the error code when it could not be."""
    try:
        notice.send(view, args)
    except NotifyFailed as error:  # e.g. an approver group Slack cannot read
        log.warning("%s for %s not sent: %s", notice.action, view.request.ref, error.code)
        return error.code
    except Exception:  # one bad notice must not roll back (and so repeat) the others rendered with it
        log.exception("%s for %s failed unexpectedly", notice.action, view.request.ref)
        return "unexpected_error"
    return None


def _write(repo: SessionRepository | RequestRepository, rows: Sequence[Row[Any]], values: dict[str, Any]) -> None:
    """The marks in one UPDATE per claimed status (normally one).

    The claim holds these rows, so each UPDATE must change every one of them; anything else means another
    writer got in, and the batch rolls back rather than queue notices for rows it did not mark.
    """
    by_status: dict[Any, list[int]] = {}
    for row in rows:
        by_status.setdefault(row.status, []).append(row.id)
    for status, ids in by_status.items():
        changed = repo.mark(ids, status, **values)
        if changed != len(ids):
            raise RuntimeError(f"marked {changed} of {len(ids)} claimed rows: another writer changed them")
