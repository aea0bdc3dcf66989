"""Loading a request together with what renderers and approver checks need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Row

from bot.services.base import Tx
from bot.services.ports import RequestView
from bot.services.read_models import DecisionRead, RequestRead, SessionRead
from bot.domain.states import RequestStatus
from storage.models import AccessRequest, AccessSession, Account, Decision, Resource


def load_view(tx: Tx, request: AccessRequest, *, found: tuple[Resource, Account] | None = None,
              decisions: Sequence[Decision | DecisionRead] | None = None,
              session: AccessSession | None = None) -> RequestView:
    """The request, its decisions, its session and its account's named approvers, copied as they are now in
    this transaction (a view never loads or writes anything later: to see a change, load the view again).
    What the caller holds already is not read again: `found`, the account; `decisions`, all of the request's,
    in order (an approved request's are final); `session`, the one its grant just made."""
    if found is None and request.account_id is not None:
        found = tx.config.account_by_id(request.account_id)
    if session is None and request.status == RequestStatus.GRANTED:  # only grants have one
        session = tx.sessions.by_request(request.id)
    return _assemble(RequestRead.of(request), tuple(
        d if isinstance(d, DecisionRead) else DecisionRead.of(d)
        for d in (tx.requests.decisions(request.id) if decisions is None else decisions)),
        SessionRead.of(session) if session is not None else None, found[1] if found else None)


def load_views(tx: Tx, requests: Sequence[RequestRead]) -> dict[int, RequestView]:
    """`load_view` for a batch of notices in three queries, whatever its size: decisions and sessions come as
    plain rows copied into read models (no ORM object per row), the accounts (a few) as objects."""
    ids = [request.id for request in requests]
    decisions = tx.requests.decision_rows_of(ids)
    found = {row.request_id: read_session(row) for row in tx.sessions.rows_of_requests(ids)}
    accounts = tx.config.accounts_by_ids({r.account_id for r in requests if r.account_id is not None})
    return {request.id: _assemble(request, tuple(map(read_decision, decisions[request.id])), found.get(request.id),
                                  accounts.get(request.account_id) if request.account_id is not None else None)
            for request in requests}


def read_request(row: Row[Any]) -> RequestRead:
    """A plain `access_requests` row as its read model."""
    values = row._mapping
    return RequestRead(**{name: values[name] for name in _REQUEST_FIELDS},
                       cards=tuple(dict(card) for card in values["cards"] or ()))


def read_session(row: Row[Any]) -> SessionRead:
    """A plain `sessions` row as its read model."""
    values = row._mapping
    return SessionRead(**{name: values[name] for name in _SESSION_FIELDS})


def read_decision(row: Row[Any]) -> DecisionRead:
    values = row._mapping
    return DecisionRead(**{name: values[name] for name in _DECISION_FIELDS})


def _names(cls: type, *converted: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in converted)


_REQUEST_FIELDS, _SESSION_FIELDS = _names(RequestRead, "cards"), _names(SessionRead)
_DECISION_FIELDS = _names(DecisionRead)


def _assemble(request: RequestRead, decisions: tuple[DecisionRead, ...], session: SessionRead | None,
              account: Account | None) -> RequestView:
    return RequestView(
        request=request, decisions=decisions, session=session,
        approver_ids=frozenset(account.approver_ids or ()) if account else frozenset(),
        approver_group=account.approver_group if account else None,
        channel=account.approval_channel if account else None,
        escalate_to=account.escalate_to if account else None,
        max_extensions=account.max_extensions if account else 0,
    )
