"""Request and session life cycles: the statuses and the only transitions allowed between them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from bot.domain.errors import Conflict


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    GRANTED = "granted"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    REVOKING = "revoking"  # ended in pam-bot; AWS has not accepted the deny yet
    ENDED = "ended"
    REVOKED = "revoked"


_R, _S = RequestStatus, SessionStatus
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    _R.PENDING: frozenset({_R.APPROVED, _R.DENIED, _R.EXPIRED, _R.CANCELLED}),
    _R.APPROVED: frozenset({_R.GRANTED, _R.FAILED}),
}
SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    _S.ACTIVE: frozenset({_S.ENDED, _S.REVOKED, _S.REVOKING}),
    _S.REVOKING: frozenset({_S.REVOKED, _S.ENDED}),  # ended: the credentials expired before AWS accepted
}
# A requester may hold at most one open request per account; these are the open ones.
OPEN_REQUEST_STATUSES: frozenset[RequestStatus] = frozenset({_R.PENDING, _R.APPROVED})
FINAL_REQUEST_STATUSES: frozenset[RequestStatus] = frozenset(set(_R) - set(REQUEST_TRANSITIONS))
FINAL_SESSION_STATUSES: frozenset[SessionStatus] = frozenset(set(_S) - set(SESSION_TRANSITIONS))

_SESSION_VALUES = frozenset(s.value for s in SessionStatus)

Kind = Literal["request", "session"]


def _status(kind: Kind, value: str) -> RequestStatus | SessionStatus:
    """The enum member for a stored status string; ValueError for an unknown kind or status."""
    if kind == "request":
        return RequestStatus(value)
    if kind == "session":
        return SessionStatus(value)
    raise ValueError(f"unknown kind {kind!r}")


def can_transition(kind: Kind, current: str, target: str) -> bool:
    """Whether `current → target` is one of the allowed moves for this kind."""
    now, then = _status(kind, current), _status(kind, target)
    table: Mapping[Any, frozenset[StrEnum]] = REQUEST_TRANSITIONS if kind == "request" else SESSION_TRANSITIONS
    return then in table.get(now, frozenset())


def ensure_transition(kind: Kind, current: str, target: str) -> None:
    """Conflict with a message for a person when `current → target` is not allowed."""
    if can_transition(kind, current, target):
        return
    now = _status(kind, current)
    if now in (_R.PENDING, _S.ACTIVE) and now != _status(kind, target):
        message = f"This {kind} is still {now}; it cannot be {target} yet."
    else:
        message = f"This {kind} is already {now}."
    raise Conflict(message, detail=f"{kind} {current} -> {target}")


def is_final(status: RequestStatus | SessionStatus | str) -> bool:
    """True when nothing can happen to a request or session in this status any more."""
    if str(status) in _SESSION_VALUES:
        return SessionStatus(status) in FINAL_SESSION_STATUSES
    return RequestStatus(status) in FINAL_REQUEST_STATUSES
