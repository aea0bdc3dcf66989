"""Loading a request together with what renderers and approver checks need."""

from __future__ import annotations

from bot.services.base import Tx
from bot.services.ports import RequestView
from storage.models import AccessRequest, Account, Resource


def load_view(tx: Tx, request: AccessRequest, *, found: tuple[Resource, Account] | None = None) -> RequestView:
    """The request, its decisions, its session and its account's named approvers (`found`: the account, when
    the caller has just read it)."""
    if found is None and request.account_id is not None:
        found = tx.config.account_by_id(request.account_id)
    account = found[1] if found else None
    return RequestView(
        request=request,
        decisions=tuple(tx.requests.decisions(request.id)),
        session=tx.sessions.by_request(request.id) if request.status == "granted" else None,  # only grants have one
        approver_ids=frozenset(account.approver_ids or ()) if account else frozenset(),
        approver_group=account.approver_group if account else None,
        channel=account.approval_channel if account else None,
        escalate_to=account.escalate_to if account else None,
        max_extensions=account.max_extensions if account else 0,
    )
