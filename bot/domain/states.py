"""Request and session life cycles: the statuses and the one declared table of moves allowed between them.

Every status change in pam-bot is checked against this table (`require_transition`); a move it does not declare
is a programming error. Bookkeeping that keeps a row in its status (a grant's or a revocation's next attempt) is
not a move: repositories do it with a claim of its own, never with a transition to the same status.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

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


Status = RequestStatus | SessionStatus
StatusT = TypeVar("StatusT", RequestStatus, SessionStatus)

_R, _S = RequestStatus, SessionStatus
REQUEST_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    _R.PENDING: frozenset({_R.APPROVED, _R.DENIED, _R.EXPIRED, _R.CANCELLED}),
    _R.APPROVED: frozenset({_R.GRANTED, _R.FAILED, _R.CANCELLED}),  # cancelled: a scheduled one, before its start
}
SESSION_TRANSITIONS: Mapping[SessionStatus, frozenset[SessionStatus]] = {
    _S.ACTIVE: frozenset({_S.ENDED, _S.REVOKED, _S.REVOKING}),
    _S.REVOKING: frozenset({_S.REVOKED, _S.ENDED}),  # ended: the credentials expired before AWS accepted
}
_TABLES: Mapping[type[StrEnum], Mapping[Any, frozenset[Any]]] = {RequestStatus: REQUEST_TRANSITIONS, SessionStatus: SESSION_TRANSITIONS}
# A requester may hold at most one open request per account; these are the open ones.
OPEN_REQUEST_STATUSES: frozenset[RequestStatus] = frozenset({_R.PENDING, _R.APPROVED})
FINAL_REQUEST_STATUSES: frozenset[RequestStatus] = frozenset(set(_R) - set(REQUEST_TRANSITIONS))
FINAL_SESSION_STATUSES: frozenset[SessionStatus] = frozenset(set(_S) - set(SESSION_TRANSITIONS))

_SESSION_VALUES = frozenset(s.value for s in SessionStatus)


class IllegalTransition(ValueError):
    """A status change the declared table does not allow: a bug in pam-bot, never something a person did."""


def _moves(status: Status) -> frozenset[StrEnum]:
    table = _TABLES.get(type(status))
    if table is None:
        raise TypeError(f"a RequestStatus or SessionStatus member is needed, not {status!r}")
    moves: frozenset[StrEnum] = table.get(status, frozenset())
    return moves


def _kind(status: Status) -> str:
    return "request" if isinstance(status, RequestStatus) else "session"


def can_transition(current: StatusT, new: StatusT) -> bool:
    """Whether `current → new` is one of the declared moves (both members of the same enum)."""
    moves = _moves(current)
    _moves(new)  # a bare string is refused here too
    return type(new) is type(current) and new in moves


def require_transition(current: StatusT, new: StatusT) -> None:
    """IllegalTransition unless `current → new` is a declared move: how every writer of a status checks it."""
    if not can_transition(current, new):
        raise IllegalTransition(f"{_kind(current)} {current.value} -> {new.value} is not a declared transition")


def ensure_transition(current: StatusT, new: StatusT) -> None:
    """Conflict with a message for a person when `current → new` is not allowed."""
    if can_transition(current, new):
        return
    kind = _kind(current)
    if current in (_R.PENDING, _S.ACTIVE) and current != new:
        message = f"This {kind} is still {current}; it cannot be {new} yet."
    else:
        message = f"This {kind} is already {current}."
    raise Conflict(message, detail=f"{kind} {current} -> {new}")


def is_final(status: Status | str) -> bool:
    """True when nothing can happen to a request or session in this status any more."""
    if str(status) in _SESSION_VALUES:
        return SessionStatus(status) in FINAL_SESSION_STATUSES
    return RequestStatus(status) in FINAL_REQUEST_STATUSES
