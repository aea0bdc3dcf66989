"""Request and session state machines: the declared table, and nothing outside it."""

from __future__ import annotations

import pytest

from bot.domain.errors import Conflict
from bot.domain.states import (
    FINAL_REQUEST_STATUSES, FINAL_SESSION_STATUSES, OPEN_REQUEST_STATUSES, REQUEST_TRANSITIONS, SESSION_TRANSITIONS,
    IllegalTransition, RequestStatus, SessionStatus, can_transition, ensure_transition, is_final, require_transition,
)

R, S = RequestStatus, SessionStatus
# Written out again on purpose: a change to the table has to be made here too.
ALLOWED_REQUEST = {
    (R.PENDING, R.APPROVED), (R.PENDING, R.DENIED), (R.PENDING, R.EXPIRED), (R.PENDING, R.CANCELLED),
    (R.APPROVED, R.GRANTED), (R.APPROVED, R.FAILED), (R.APPROVED, R.CANCELLED),
}
ALLOWED_SESSION = {(S.ACTIVE, S.ENDED), (S.ACTIVE, S.REVOKED), (S.ACTIVE, S.REVOKING), (S.REVOKING, S.REVOKED),
                   (S.REVOKING, S.ENDED)}


def test_values_are_the_stored_strings() -> None:
    assert [s.value for s in R] == ["pending", "approved", "granted", "failed", "denied", "expired", "cancelled"]
    assert [s.value for s in S] == ["active", "revoking", "ended", "revoked"]
    assert R.PENDING == "pending" and f"{S.ACTIVE}" == "active"


def test_the_table_declares_exactly_the_allowed_moves() -> None:
    assert {(a, b) for a, moves in REQUEST_TRANSITIONS.items() for b in moves} == ALLOWED_REQUEST
    assert {(a, b) for a, moves in SESSION_TRANSITIONS.items() for b in moves} == ALLOWED_SESSION


@pytest.mark.parametrize("current", list(R))
@pytest.mark.parametrize("new", list(R))
def test_request_transitions(current: RequestStatus, new: RequestStatus) -> None:
    allowed = (current, new) in ALLOWED_REQUEST
    assert can_transition(current, new) is allowed
    if allowed:
        require_transition(current, new)
        ensure_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            require_transition(current, new)
        with pytest.raises(Conflict):
            ensure_transition(current, new)


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("new", list(S))
def test_session_transitions(current: SessionStatus, new: SessionStatus) -> None:
    allowed = (current, new) in ALLOWED_SESSION
    assert can_transition(current, new) is allowed
    if allowed:
        require_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            require_transition(current, new)
        with pytest.raises(Conflict):
            ensure_transition(current, new)


@pytest.mark.parametrize("status", [*R, *S])
def test_no_status_moves_to_itself(status: RequestStatus | SessionStatus) -> None:
    """Bookkeeping that keeps a status (a next attempt) is a claim, never a transition."""
    with pytest.raises(IllegalTransition):
        require_transition(status, status)


@pytest.mark.parametrize("final", sorted(FINAL_REQUEST_STATUSES | FINAL_SESSION_STATUSES))
def test_finals_have_no_exit(final: RequestStatus | SessionStatus) -> None:
    assert is_final(final)
    for new in type(final):
        assert not can_transition(final, new)
        with pytest.raises(IllegalTransition):
            require_transition(final, new)


def test_every_status_is_reachable_from_a_start_or_is_one() -> None:
    starts = {R.PENDING, R.APPROVED, S.ACTIVE}  # what new rows are written with
    reached = set(starts)
    for table in (REQUEST_TRANSITIONS, SESSION_TRANSITIONS):
        for moves in table.values():
            reached |= moves
    assert reached == {*R, *S}


@pytest.mark.parametrize(("current", "new"), [
    ("pending", R.APPROVED), (R.PENDING, "approved"), ("pending", "approved"), (R.PENDING, S.ACTIVE),
    (S.ACTIVE, R.CANCELLED),
])
def test_bare_strings_and_mixed_kinds_are_refused(current, new) -> None:
    with pytest.raises((TypeError, IllegalTransition)):
        require_transition(current, new)


def test_an_illegal_transition_is_a_programming_error_not_a_persons() -> None:
    with pytest.raises(ValueError, match="request granted -> pending is not a declared transition"):
        require_transition(R.GRANTED, R.PENDING)
    assert not issubclass(IllegalTransition, Conflict)


@pytest.mark.parametrize(("current", "new", "message"), [
    (R.DENIED, R.APPROVED, "This request is already denied."),
    (R.GRANTED, R.GRANTED, "This request is already granted."),
    (R.PENDING, R.PENDING, "This request is already pending."),
    (R.PENDING, R.GRANTED, "This request is still pending; it cannot be granted yet."),
    (S.REVOKED, S.ENDED, "This session is already revoked."),
    (S.ENDED, S.REVOKED, "This session is already ended."),
])
def test_conflict_messages(current, new, message: str) -> None:
    with pytest.raises(Conflict) as caught:
        ensure_transition(current, new)
    assert caught.value.user_message == message
    kind = "request" if isinstance(current, RequestStatus) else "session"
    assert caught.value.detail == f"{kind} {current} -> {new}"


def test_open_and_final() -> None:
    assert OPEN_REQUEST_STATUSES == {"pending", "approved"}
    assert FINAL_REQUEST_STATUSES == {"granted", "failed", "denied", "expired", "cancelled"}
    assert FINAL_SESSION_STATUSES == {"ended", "revoked"}
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
