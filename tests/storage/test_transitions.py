"""The one conditional transition, on both backends: declared moves land once, illegal ones cannot be written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import IllegalTransition, RequestStatus, SessionStatus
from storage.models import AccessRequest, AccessSession
from storage.repositories import RequestRepository, SessionRepository
from tests.storage.test_repositories import add_account, make_request, make_session

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
R, S = RequestStatus, SessionStatus
ROLE = "arn:aws:iam::111111111111:role/r"


def add_request(db: sessionmaker[Session], status: RequestStatus = R.PENDING, ref: str = "R-AAAAAA") -> int:
    with db.begin() as session:
        row = make_request(ref, status)
        RequestRepository(session).add(row)
        return row.id


def add_session(db: sessionmaker[Session], status: SessionStatus = S.ACTIVE) -> int:
    request_id = add_request(db, R.GRANTED, "R-GRANTD")
    with db.begin() as session:
        row = make_session(request_id, "S-AAAAAA", NOW + timedelta(minutes=30))
        row.status = status  # a new row may start anywhere
        SessionRepository(session).add(row)
        return row.id


def stored(db: sessionmaker[Session], table: str, row_id: int) -> str:
    with db.begin() as session:
        return session.execute(text(f"SELECT status FROM {table} WHERE id = :id"),  # noqa: S608 - one of two literal table names
                               {"id": row_id}).scalar_one()


def test_rows_hand_back_enum_members_and_store_the_same_strings(db: sessionmaker[Session]) -> None:
    request_id, session_id = add_request(db, ref="R-BBBBBB"), add_session(db)
    with db.begin() as session:
        assert session.get(AccessRequest, request_id).status is R.PENDING
        assert session.get(AccessSession, session_id).status is S.ACTIVE
    assert stored(db, "access_requests", request_id) == "pending"
    assert stored(db, "sessions", session_id) == "active"


@pytest.mark.parametrize(("start", "expected", "new"), [
    (R.PENDING, R.PENDING, R.GRANTED),  # skips approval
    (R.GRANTED, R.GRANTED, R.PENDING),  # a final status has no exit
    (R.DENIED, R.DENIED, R.APPROVED),
    (R.PENDING, R.PENDING, R.PENDING),  # not a move: bookkeeping is a claim
])
def test_request_transition_refuses_an_undeclared_move(db: sessionmaker[Session], start: RequestStatus,
                                                       expected: RequestStatus, new: RequestStatus) -> None:
    request_id = add_request(db, start)
    with db.begin() as session, pytest.raises(IllegalTransition):
        RequestRepository(session).transition(request_id, expected, new, updated_at=NOW)
    assert stored(db, "access_requests", request_id) == start.value


@pytest.mark.parametrize(("start", "expected", "new"), [
    (S.ENDED, S.ENDED, S.ACTIVE),
    (S.REVOKED, S.REVOKED, S.REVOKING),
    (S.REVOKING, S.REVOKING, S.ACTIVE),
    (S.REVOKING, S.REVOKING, S.REVOKING),  # the next revocation try is `claim_revoke_attempt`
])
def test_session_transition_refuses_an_undeclared_move(db: sessionmaker[Session], start: SessionStatus,
                                                       expected: SessionStatus, new: SessionStatus) -> None:
    session_id = add_session(db, start)
    with db.begin() as session, pytest.raises(IllegalTransition):
        SessionRepository(session).transition(session_id, expected, new, revoke_attempts=9)
    assert stored(db, "sessions", session_id) == start.value


def test_bare_strings_are_refused(db: sessionmaker[Session]) -> None:
    request_id = add_request(db)
    with db.begin() as session, pytest.raises(TypeError):
        RequestRepository(session).transition(request_id, "pending", "approved")  # type: ignore[arg-type]
    with db.begin() as session, pytest.raises(IllegalTransition):  # a session's status on a request
        RequestRepository(session).transition(request_id, R.PENDING, S.ACTIVE)  # type: ignore[arg-type]
    assert stored(db, "access_requests", request_id) == "pending"


def test_a_stale_expected_status_moves_nothing(db: sessionmaker[Session]) -> None:
    request_id, session_id = add_request(db, R.APPROVED, "R-BBBBBB"), add_session(db, S.REVOKING)
    with db.begin() as session:
        assert not RequestRepository(session).transition(request_id, R.PENDING, R.DENIED, updated_at=NOW)
        assert not SessionRepository(session).transition(session_id, S.ACTIVE, S.ENDED, ended_at=NOW)
    assert stored(db, "access_requests", request_id) == "approved"
    assert stored(db, "sessions", session_id) == "revoking"
    with db.begin() as session:
        assert SessionRepository(session).transition(session_id, S.REVOKING, S.REVOKED, revocation_applied=True)
        assert session.get(AccessSession, session_id).status is S.REVOKED


def test_revocation_tries_are_claims_that_keep_the_status(db: sessionmaker[Session]) -> None:
    session_id = add_session(db, S.REVOKING)
    with db.begin() as session:
        sessions = SessionRepository(session)
        assert sessions.claim_revoke_attempt(session_id, 0, revoke_due_at=NOW)
        assert not sessions.claim_revoke_attempt(session_id, 0, revoke_due_at=NOW)  # someone else took try 1
        row = session.get(AccessSession, session_id)
        assert (row.status, row.revoke_attempts) == (S.REVOKING, 1)
    active_id = add_session_for_another_request(db)
    with db.begin() as session:
        assert not SessionRepository(session).claim_revoke_attempt(active_id, 0)  # only `revoking` ones


def add_session_for_another_request(db: sessionmaker[Session]) -> int:
    request_id = add_request(db, R.GRANTED, "R-CCCCCC")
    with db.begin() as session:
        row = make_session(request_id, "S-CCCCCC", NOW + timedelta(minutes=30))
        SessionRepository(session).add(row)
        return row.id


def test_cancelling_an_accounts_pending_requests_moves_only_pending_ones(db: sessionmaker[Session]) -> None:
    pending, approved = add_request(db, R.PENDING, "R-BBBBBB"), add_request(db, R.APPROVED, "R-CCCCCC")
    with db.begin() as session:
        account = add_account(session, ROLE)
        session.execute(update(AccessRequest).where(AccessRequest.id == approved).values(requester_id="U2"))
        session.execute(update(AccessRequest).values(account_id=account.id))
        account_id = account.id
    with db.begin() as session:
        assert RequestRepository(session).cancel_pending_for([account_id], NOW, "the account was removed") == 1
        assert session.get(AccessRequest, pending).status is R.CANCELLED
    assert stored(db, "access_requests", approved) == "approved"


def test_a_status_set_on_a_loaded_row_obeys_the_table(db: sessionmaker[Session]) -> None:
    """The sweeps mark rows they hold by setting attributes; the model checks those moves too."""
    request_id, session_id = add_request(db), add_session(db)
    with db.begin() as session:
        row = session.get(AccessRequest, request_id)
        with pytest.raises(IllegalTransition):
            row.status = R.GRANTED
        row.status = R.EXPIRED
    with db.begin() as session:
        row = session.get(AccessSession, session_id)
        session.expire(row)  # the check reads the stored status when the row was expired
        with pytest.raises(IllegalTransition):
            row.status = S.ACTIVE
        row.status = S.ENDED
    assert (stored(db, "access_requests", request_id), stored(db, "sessions", session_id)) == ("expired", "ended")


def test_an_unknown_status_is_refused_on_the_way_in(db: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError):
        make_request("R-DDDDDD", "bogus")  # type: ignore[arg-type]
