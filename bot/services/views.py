"""Loading a request together with what renderers and approver checks need."""

from __future__ import annotations

from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.read_models import DecisionRead, RequestRead, SessionRead
from storage.models import AccessRequest


def load_view(tx: Tx, request: AccessRequest) -> RequestView:
    """The request, its decisions, its session and its account's named approvers, copied as they are now in
    this transaction (a view never loads or writes anything later: to see a change, load the view again)."""
    found = tx.config.account_by_id(request.account_id) if request.account_id is not None else None
    account = found[1] if found else None
    session = tx.sessions.by_request(request.id)
    return RequestView(
        request=RequestRead.of(request),
        decisions=tuple(DecisionRead.of(d) for d in tx.requests.decisions(request.id)),
        session=SessionRead.of(session) if session is not None else None,
        approver_ids=frozenset(account.approver_ids or ()) if account else frozenset(),
        approver_group=account.approver_group if account else None,
        channel=account.approval_channel if account else None,
        escalate_to=account.escalate_to if account else None,
        max_extensions=account.max_extensions if account else 0,
    )
