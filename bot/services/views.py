"""Loading a request together with what renderers and approver checks need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.read_models import DecisionRead, RequestRead, SessionRead
from bot.domain.states import RequestStatus
from storage.models import AccessRequest, AccessSession, Account, Decision, Resource


def load_view(tx: Tx, request: AccessRequest, *, found: tuple[Resource, Account] | None = None) -> RequestView:
    """The request, its decisions, its session and its account's named approvers, copied as they are now in
    this transaction (a view never loads or writes anything later: to see a change, load the view again).
    `found`: the account, when the caller has just read it."""
    if found is None and request.account_id is not None:
        found = tx.config.account_by_id(request.account_id)
    session = tx.sessions.by_request(request.id) if request.status == RequestStatus.GRANTED else None  # only grants
    return _view(request, tx.requests.decisions(request.id), session, found[1] if found else None)


def load_views(tx: Tx, requests: Sequence[AccessRequest],
               sessions: Mapping[int, AccessSession] | None = None) -> dict[int, RequestView]:
    """`load_view` for a batch in three queries, not three per request (a sweep renders hundreds at once).

    `sessions` (by request id) are rows the caller holds already; the others are read.
    """
    ids = [request.id for request in requests]
    decisions = tx.requests.decisions_of(ids)
    found = dict(sessions or {})
    found.update(tx.sessions.by_requests([i for i in ids if i not in found]))
    accounts = tx.config.accounts_by_ids({r.account_id for r in requests if r.account_id is not None})
    return {request.id: _view(request, decisions.get(request.id, ()), found.get(request.id),
                              accounts.get(request.account_id) if request.account_id is not None else None)
            for request in requests}


def _view(request: AccessRequest, decisions: Iterable[Decision], session: AccessSession | None,
          account: Account | None) -> RequestView:
    return RequestView(
        request=RequestRead.of(request),
        decisions=tuple(DecisionRead.of(d) for d in decisions),
        session=SessionRead.of(session) if session is not None else None,
        approver_ids=frozenset(account.approver_ids or ()) if account else frozenset(),
        approver_group=account.approver_group if account else None,
        channel=account.approval_channel if account else None,
        escalate_to=account.escalate_to if account else None,
        max_extensions=account.max_extensions if account else 0,
    )
