"""The sweeps' claims on real databases: exactly the due rows, through the indexes, skipping rows others hold."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import RequestStatus
from storage.models import AccessRequest, AccessSession
from storage.repositories import RequestRepository, SessionRepository

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::111111111111:role/t"


def add_request(session: Session, ref: str, status: str = "granted", created: datetime = NOW,
                attempts: int = 0) -> AccessRequest:
    request = AccessRequest(
        ref=ref, requester_id="U1", team_id="T1", account_id=None, resource_name="prod", account_name="ro",
        resource_role_arn=ROLE, target_role_arn=ROLE, duration_seconds=1800, reason="", status=status,
        created_at=created, updated_at=created, grant_attempts=attempts, cards=[])
    RequestRepository(session).add(request)
    return request


def add_session(session: Session, ref: str, expires: datetime, warned: bool = False,
                status: str = "active") -> None:
    request = add_request(session, f"R-{ref[2:]}")
    SessionRepository(session).add(AccessSession(
        ref=ref, request_id=request.id, requester_id="U1", resource_name="prod", account_name="ro",
        resource_role_arn=ROLE, target_role_arn=ROLE, role_session_name="u1", assumed_role_arn=f"{ROLE}/u1",
        status=status, started_at=NOW - timedelta(minutes=30), expires_at=expires,
        warned_at=NOW if warned else None))


def test_warning_and_end_claims_take_exactly_the_due_sessions(db: sessionmaker[Session]) -> None:
    window = timedelta(minutes=5)
    with db.begin() as session:
        add_session(session, "S-PAST01", NOW - timedelta(seconds=1))
        add_session(session, "S-NOW001", NOW)
        add_session(session, "S-SOON01", NOW + timedelta(minutes=4))
        add_session(session, "S-EDGE01", NOW + window)
        add_session(session, "S-LATE01", NOW + window + timedelta(seconds=1))
        add_session(session, "S-WARNED", NOW + timedelta(minutes=3), warned=True)
        add_session(session, "S-REVOKD", NOW - timedelta(minutes=1), status="revoked")
    with db.begin() as session:
        sessions = SessionRepository(session)
        assert [s.ref for s in sessions.claim_due_warning(NOW, NOW + window, 10)] == ["S-SOON01", "S-EDGE01"]
        assert [s.ref for s in sessions.claim_due_end(NOW, 10)] == ["S-PAST01", "S-NOW001"]
        assert [s.ref for s in sessions.claim_due_end(NOW, 1)] == ["S-PAST01"]  # oldest first, batch-limited


def test_request_claims_and_stuck_grants(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        add_request(session, "R-OLD001", "pending", NOW - timedelta(hours=2))
        add_request(session, "R-NEW001", "pending", NOW - timedelta(minutes=1))
        add_request(session, "R-APPRVD", "approved", NOW - timedelta(minutes=3), attempts=1)
        add_request(session, "R-FRESH1", "approved", NOW - timedelta(seconds=30), attempts=1)
    with db.begin() as session:
        requests = RequestRepository(session)
        assert [r.ref for r in requests.claim(RequestStatus.PENDING, NOW - timedelta(hours=1), 10)] == ["R-OLD001"]
        assert [r.ref for r in requests.claim_stuck(NOW - timedelta(minutes=2), 10)] == ["R-APPRVD"]


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's; SQLite serialises writers instead")


def test_a_second_replica_skips_the_rows_the_first_one_holds(engine: Engine, db: sessionmaker[Session]) -> None:
    postgres_only(engine)
    with db.begin() as session:
        for index in range(10):
            add_session(session, f"S-DUE{index:03d}", NOW - timedelta(minutes=index))
    first_claimed, release = threading.Event(), threading.Event()
    taken: dict[str, list[str]] = {}

    def first() -> None:
        with db.begin() as session:
            taken["first"] = [s.ref for s in SessionRepository(session).claim_due_end(NOW, 4)]
            first_claimed.set()
            release.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    assert first_claimed.wait(10)
    with db.begin() as session:
        taken["second"] = [s.ref for s in SessionRepository(session).claim_due_end(NOW, 10)]
    release.set()
    holder.join()
    assert len(taken["first"]) == 4 and len(taken["second"]) == 6
    assert not set(taken["first"]) & set(taken["second"])


def test_revocation_retries_take_the_due_revoking_sessions_and_replicas_skip_held_ones(
        engine: Engine, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        for ref, due, status in (("S-DUE001", NOW - timedelta(minutes=1), "revoking"), ("S-DUE002", NOW, "revoking"),
                                 ("S-LATER1", NOW + timedelta(seconds=1), "revoking"),
                                 ("S-ACTIVE", NOW - timedelta(minutes=1), "active")):
            add_session(session, ref, NOW + timedelta(minutes=30), status=status)
            row = SessionRepository(session).by_ref(ref)
            assert row is not None
            row.revoke_due_at = due
    with db.begin() as session:
        assert [s.ref for s in SessionRepository(session).claim_due_revocations(NOW, 10)] == ["S-DUE001", "S-DUE002"]
    if engine.dialect.name != "postgresql":
        return
    held, release, taken = threading.Event(), threading.Event(), {}

    def first() -> None:
        with db.begin() as session:
            taken["first"] = [s.ref for s in SessionRepository(session).claim_due_revocations(NOW, 1)]
            held.set()
            release.wait(10)

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(10)
    with db.begin() as session:
        taken["second"] = [s.ref for s in SessionRepository(session).claim_due_revocations(NOW, 10)]
    release.set()
    holder.join()
    assert (taken["first"], taken["second"]) == (["S-DUE001"], ["S-DUE002"])


CLAIMS = {
    "ix_sessions_due_warning": lambda s: SessionRepository(s).claim_due_warning(NOW, NOW + timedelta(minutes=5), 200),
    "ix_sessions_active_expiry": lambda s: SessionRepository(s).claim_due_end(NOW, 200),
    # Pending requests are also "open": the one-open-request index serves the claim as well as the status index.
    "ix_access_requests_status_created|uq_access_requests_open":
        lambda s: RequestRepository(s).claim(RequestStatus.PENDING, NOW, 200),
    "ix_access_requests_scheduled": lambda s: RequestRepository(s).claim_starting(NOW, 200),
    "ix_access_requests_unreviewed": lambda s: RequestRepository(s).claim_unreviewed(NOW, 200),
    "ix_sessions_revoke_due": lambda s: SessionRepository(s).claim_due_revocations(NOW, 200),
}


@pytest.mark.parametrize("index", sorted(CLAIMS))
def test_due_claims_can_use_their_index(engine: Engine, db: sessionmaker[Session], index: str) -> None:
    """The claims' real SQL matches the (partial) indexes, so a tick costs O(due), not O(all rows)."""
    postgres_only(engine)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with db.begin() as session:
            CLAIMS[index](session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = seen
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    assert any(name in plan for name in index.split("|")), plan
