"""Request and session state machines."""

from __future__ import annotations

import pytest

from bot.domain.errors import Conflict
from bot.domain.states import (
    FINAL_REQUEST_STATUSES, OPEN_REQUEST_STATUSES, RequestStatus, SessionStatus, can_transition,
    ensure_transition, is_final,
)

R, S = RequestStatus, SessionStatus
ALLOWED_REQUEST = {
    (R.PENDING, R.APPROVED), (R.PENDING, R.DENIED), (R.PENDING, R.EXPIRED), (R.PENDING, R.CANCELLED),
    (R.APPROVED, R.GRANTED), (R.APPROVED, R.FAILED),
}
ALLOWED_SESSION = {(S.ACTIVE, S.ENDED), (S.ACTIVE, S.REVOKED), (S.ACTIVE, S.REVOKING), (S.REVOKING, S.REVOKED),
                   (S.REVOKING, S.ENDED)}


def test_values_are_the_stored_strings() -> None:
    assert [s.value for s in R] == ["pending", "approved", "granted", "failed", "denied", "expired", "cancelled"]
    assert [s.value for s in S] == ["active", "revoking", "ended", "revoked"]
    assert R.PENDING == "pending" and f"{S.ACTIVE}" == "active"


@pytest.mark.parametrize("current", list(R))
@pytest.mark.parametrize("target", list(R))
def test_request_transitions(current: RequestStatus, target: RequestStatus) -> None:
    allowed = (current, target) in ALLOWED_REQUEST
    assert can_transition("request", current, target) is allowed
    if allowed:
        ensure_transition("request", current.value, target.value)
    else:
        with pytest.raises(Conflict):
            ensure_transition("request", current, target)


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_session_transitions(current: SessionStatus, target: SessionStatus) -> None:
    allowed = (current, target) in ALLOWED_SESSION
    assert can_transition("session", current, target) is allowed
    if not allowed:
        with pytest.raises(Conflict):
            ensure_transition("session", current, target)


@pytest.mark.parametrize(("kind", "current", "target", "message"), [
    ("request", "denied", "approved", "This request is already denied."),
    ("request", "approved", "cancelled", "This request is already approved."),
    ("request", "granted", "granted", "This request is already granted."),
    ("request", "pending", "pending", "This request is already pending."),
    ("request", "pending", "granted", "This request is still pending; it cannot be granted yet."),
    ("session", "revoked", "ended", "This session is already revoked."),
    ("session", "ended", "revoked", "This session is already ended."),
])
def test_conflict_messages(kind, current: str, target: str, message: str) -> None:
    with pytest.raises(Conflict) as caught:
        ensure_transition(kind, current, target)
    assert caught.value.user_message == message
    assert caught.value.detail == f"{kind} {current} -> {target}"


@pytest.mark.parametrize(("kind", "current", "target"), [
    ("request", "bogus", "approved"), ("request", "active", "ended"), ("session", "pending", "approved"),
    ("thing", "pending", "approved"),
])
def test_unknown_statuses_are_programming_errors(kind, current: str, target: str) -> None:
    with pytest.raises(ValueError):
        ensure_transition(kind, current, target)


def test_open_and_final() -> None:
    assert OPEN_REQUEST_STATUSES == {"pending", "approved"}
    assert FINAL_REQUEST_STATUSES == {"granted", "failed", "denied", "expired", "cancelled"}
    assert not OPEN_REQUEST_STATUSES & FINAL_REQUEST_STATUSES


@pytest.mark.parametrize(("status", "final"), [
    ("pending", False), ("approved", False), ("granted", True), ("failed", True), ("denied", True),
    ("expired", True), ("cancelled", True), ("active", False), ("ended", True), ("revoked", True),
    (R.DENIED, True), (S.ACTIVE, False),
])
def test_is_final(status: str, final: bool) -> None:
    assert is_final(status) is final


def test_is_final_refuses_unknown() -> None:
    with pytest.raises(ValueError):
        is_final("bogus")
