"""Repositories on real databases: conditional transitions, claims and the audit chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.audit import GENESIS, AuditEntry
from bot.domain.audit_chain import ChainCheck
from bot.domain.states import RequestStatus
from bot.services.read_models import AccountRead
from storage.models import AccessRequest, AccessSession, Account, AuditEvent, Resource
from storage.repositories import AuditRepository, ConfigRepository, RequestRepository, SessionRepository
from storage.db import alembic_config, upgrade
from storage.repositories.audit import link_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def first_broken(events: list[AuditEvent]) -> int | None:
    """The id of the first stored event the chain check refuses (unkeyed chains, as these tests write)."""
    check = ChainCheck(None)
    return None if all(check.add(link_of(event)) for event in events) else check.broken_at


def make_request(ref: str = "R-AAAAAA", status: str = "pending", created: datetime = NOW) -> AccessRequest:
    return AccessRequest(
        ref=ref, requester_id="U1", team_id="T1", account_id=None, resource_name="prod", account_name="ro",
        resource_role_arn="arn:aws:iam::111111111111:role/r", target_role_arn="arn:aws:iam::111111111111:role/t",
        duration_seconds=1800, reason="", status=status, created_at=created, updated_at=created, cards=[])


def add_account(session: Session, role: str = "arn:aws:iam::111111111111:role/r") -> Account:
    """Resource `prod` with its account `ro`, flushed."""
    resource = Resource(name="prod", role_arn=role, created_by="U0", created_at=NOW, updated_at=NOW)
    session.add(resource)
    session.flush()
    account = Account(resource_id=resource.id, name="ro", role_arn=role, default_duration_seconds=900,
                      created_by="U0", created_at=NOW, updated_at=NOW)
    session.add(account)
    session.flush()
    return account


def make_session(request_id: int, ref: str, expires: datetime) -> AccessSession:
    return AccessSession(
        ref=ref, request_id=request_id, requester_id="U1", resource_name="prod", account_name="ro",
        resource_role_arn="arn:aws:iam::111111111111:role/r", target_role_arn="arn:aws:iam::111111111111:role/t",
        role_session_name="u1", assumed_role_arn="arn:aws:sts::111111111111:assumed-role/t/u1",
        status="active", started_at=NOW, expires_at=expires)


def stored_request(db: sessionmaker[Session]) -> int:
    """A pending request `R-AAAAAA`, committed; its id."""
    with db.begin() as session:
        RequestRepository(session).add(make_request())
        return RequestRepository(session).by_ref("R-AAAAAA").id


def test_transition_changes_the_row_once(db: sessionmaker[Session]) -> None:
    request_id = stored_request(db)
    with db.begin() as session:
        loaded = RequestRepository(session).by_id(request_id)
        moved = RequestRepository(session).transition(request_id, RequestStatus.PENDING, RequestStatus.APPROVED,
                                                      updated_at=NOW)
        # The row comes back with the UPDATE, and the copy the transaction had loaded is that row, refreshed.
        assert moved is loaded and moved.status is RequestStatus.APPROVED and moved.updated_at == NOW
    with db.begin() as session:
        assert not RequestRepository(session).transition(request_id, RequestStatus.PENDING, RequestStatus.DENIED,
                                                         updated_at=NOW)
        assert RequestRepository(session).by_id(request_id).status is RequestStatus.APPROVED


def test_a_transition_gives_the_loaded_copy_the_row_as_another_transaction_left_it(
        db: sessionmaker[Session], engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: no other transaction commits while this one is open")
    request_id = stored_request(db)
    with db() as session, session.begin():
        loaded = RequestRepository(session).by_id(request_id)
        with db.begin() as other:  # committed between this transaction's read and its UPDATE
            other.execute(update(AccessRequest).where(AccessRequest.id == request_id).values(reason="edited"))
        moved = RequestRepository(session).transition(request_id, RequestStatus.PENDING, RequestStatus.APPROVED,
                                                      updated_at=NOW)
        assert moved is loaded and loaded.reason == "edited" and loaded.status is RequestStatus.APPROVED
        assert not session.dirty  # the row as it is: nothing of it left to write


def test_a_change_made_to_the_loaded_copy_is_written_before_its_transition(db: sessionmaker[Session]) -> None:
    request_id = stored_request(db)
    with db.begin() as session:
        loaded = RequestRepository(session).by_id(request_id)
        loaded.cards = [{"channel": "C1", "ts": "1.1"}]
        assert RequestRepository(session).transition(request_id, RequestStatus.PENDING, RequestStatus.APPROVED,
                                                     updated_at=NOW) is loaded
    with db() as session:
        stored = RequestRepository(session).by_id(request_id)
        assert stored.cards == [{"channel": "C1", "ts": "1.1"}] and stored.status is RequestStatus.APPROVED


def test_a_row_a_transition_returns_unloaded_belongs_to_its_transaction(db: sessionmaker[Session]) -> None:
    """Not read before: it comes back as the transaction's own copy, whose later changes are written."""
    request_id = stored_request(db)
    with db.begin() as session:
        moved = RequestRepository(session).transition(request_id, RequestStatus.PENDING, RequestStatus.APPROVED,
                                                      updated_at=NOW)
        assert moved is not None and moved.ref == "R-AAAAAA" and not session.dirty
        assert RequestRepository(session).by_id(request_id) is moved
        moved.reason = "noted after"
    with db() as session:
        stored = RequestRepository(session).by_id(request_id)
        assert stored.reason == "noted after" and stored.status is RequestStatus.APPROVED


def test_a_new_session_is_written_with_its_columns_defaults_and_its_id(db: sessionmaker[Session]) -> None:
    request_id = stored_request(db)
    with db.begin() as session:
        row = make_session(request_id, "S-AAAAAA", NOW + timedelta(hours=1))
        SessionRepository(session).add(row)
        assert row.id is not None and (row.extension, row.notice_failures, row.revocation_applied) == (0, 0, False)
    with db() as session:
        stored = SessionRepository(session).by_ref("S-AAAAAA")
        assert stored is not None and stored.id == row.id and stored.request_id == request_id
        assert (stored.extension, stored.revoke_attempts, stored.revocation_enabled) == (0, 0, False)


def test_a_name_no_database_can_hold_finds_nothing(db: sessionmaker[Session]) -> None:
    """A typed name with a NUL (a modal's value, a script's argument) is simply not there: PostgreSQL would refuse
    the statement itself, and the person would get an error instead of "no such account"."""
    with db.begin() as session:
        add_account(session)
        config = ConfigRepository(session)
        assert config.account("prod", "ro") is not None
        assert config.account("prod", "ro\x00") is None
        assert config.account("\x00", "ro") is None
        assert config.resource("prod\x00") is None
        assert config.accounts("\x00") == []
        assert [account.name for _, account in config.accounts("prod")] == ["ro"]


def test_account_rows_read_as_the_orm_objects_do_in_the_same_order(db: sessionmaker[Session]) -> None:
    """The rows that lists of accounts are built from give the same read models as the ORM objects, JSON lists and
    UTC times included, ordered by resource then account name; the count agrees."""
    with db.begin() as session:
        first = add_account(session)
        first.approver_ids, first.requester_ids, first.requester_group = ["UB", "UA"], ["U9"], "S1"
        other = Resource(name="dev", role_arn=first.role_arn, created_by="U0", created_at=NOW, updated_at=NOW)
        session.add(other)
        session.flush()
        session.add_all([Account(resource_id=other.id, name=name, role_arn=first.role_arn,
                                 default_duration_seconds=900, created_by="U0", created_at=NOW, updated_at=NOW)
                         for name in ("zz", "aa")])
        session.flush()
        config = ConfigRepository(session)
        rows = config.account_rows()
        assert [AccountRead.of(row) for row in rows] == [AccountRead.of(account) for _, account in config.accounts()]
        assert [row.name for row in rows] == ["aa", "zz", "ro"]
        assert AccountRead.of(rows[-1]).approver_ids == ("UB", "UA") and rows[-1].created_at == NOW
        assert config.account_count() == 3


def test_a_request_is_read_locked_with_its_account_and_a_free_session_ref_in_one_statement(
        engine: Engine, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        account = add_account(session)
        with_account, without = make_request("R-AAAAAA"), make_request("R-BBBBBB")
        with_account.account_id = account.id
        RequestRepository(session).add(with_account)
        RequestRepository(session).add(without)
        SessionRepository(session).add(make_session(without.id, "S-TAKEN2", NOW + timedelta(hours=1)))
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with db.begin() as session:
        event.listen(engine, "before_cursor_execute", seen)
        try:
            found = RequestRepository(session).locked_with_account("R-AAAAAA", session_ref="S-FREE22")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert found is not None and found.account is not None
        request, (res, acc), session_ref = found
        assert (request.ref, res.name, acc.name, session_ref) == ("R-AAAAAA", "prod", "ro", "S-FREE22")
        assert len([s for s in statements if not s.lstrip().upper().startswith("BEGIN")]) == 1
        # A ref a session has is not offered; none asked, none offered.
        assert RequestRepository(session).locked_with_account("R-AAAAAA", session_ref="S-TAKEN2").session_ref is None
        assert RequestRepository(session).locked_with_account("R-AAAAAA").session_ref is None
        # No account (it was removed): the request, and None for its account; no request: None.
        assert RequestRepository(session).locked_with_account("R-BBBBBB") == (
            RequestRepository(session).by_ref("R-BBBBBB"), None, None)
        assert RequestRepository(session).locked_with_account("R-CCCCCC") is None
    if engine.dialect.name != "postgresql":
        return
    holder = db()  # PostgreSQL: the read holds the request's row lock (deciders queue on it), not its account's
    holder.begin()
    RequestRepository(holder).locked_with_account("R-AAAAAA")
    try:
        with db.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError):
                session.execute(select(AccessRequest).where(AccessRequest.ref == "R-AAAAAA").with_for_update())
        with db.begin() as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            session.execute(select(Account).where(Account.name == "ro").with_for_update())
    finally:
        holder.rollback()
        holder.close()


def test_concurrent_transitions_let_exactly_one_win(db: sessionmaker[Session]) -> None:
    request_id = stored_request(db)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        with db.begin() as session:
            wins.append(RequestRepository(session).transition(request_id, RequestStatus.PENDING,
                                                              RequestStatus.APPROVED) is not None)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_due_claims_select_only_due_rows(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        requests = RequestRepository(session)
        for index in range(5):
            requests.add(make_request(f"R-AAAAA{index}"))
        ids = [r.id for r in requests.pending()]
        sessions = SessionRepository(session)
        for index, request_id in enumerate(ids):
            sessions.add(make_session(request_id, f"S-AAAAA{index}", NOW + timedelta(minutes=index * 10)))
    with db.begin() as session:
        due = SessionRepository(session).claim_due_warning(NOW - timedelta(minutes=1), NOW + timedelta(minutes=15), limit=10)
        assert [s.ref for s in due] == ["S-AAAAA0", "S-AAAAA1"]
        ended = SessionRepository(session).claim_due_end(NOW, limit=10)
        assert [s.ref for s in ended] == ["S-AAAAA0"]


def test_postgres_claims_skip_rows_another_replica_holds(engine: Engine, db: sessionmaker[Session]) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is a PostgreSQL feature; SQLite serialises writers instead")
    with db.begin() as session:
        for index in range(4):
            RequestRepository(session).add(make_request(f"R-BBBBB{index}", created=NOW - timedelta(hours=2)))
    first = db()
    first.begin()
    held = RequestRepository(first).claim(RequestStatus.PENDING, NOW, limit=2)
    assert len(held) == 2
    with db.begin() as session:
        other = RequestRepository(session).claim(RequestStatus.PENDING, NOW, limit=10)
        assert {r.ref for r in other}.isdisjoint({r.ref for r in held})
        assert len(other) == 2
    first.rollback()
    first.close()


def test_audit_chain_links_events_and_reveals_tampering(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        audit = AuditRepository(session)
        for index in range(3):
            audit.append(AuditEntry("U1", "request.create", f"R-{index}", details={"n": index}),
                         NOW + timedelta(seconds=index))
    with db.begin() as session:
        events = list(AuditRepository(session).after(0))
        assert events[0].prev_hash == GENESIS
        assert events[1].prev_hash == events[0].hash
        assert first_broken(events) is None
        session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(actor="U2"))
    with db.begin() as session:
        events = list(AuditRepository(session).after(0))
        assert first_broken(events) == events[1].id


def test_concurrent_audit_appends_keep_one_chain(db: sessionmaker[Session]) -> None:
    def append(index: int) -> None:
        with db.begin() as session:
            AuditRepository(session).append(AuditEntry("U1", "x", str(index)), NOW)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.begin() as session:
        events = list(AuditRepository(session).after(0))
    assert len(events) == 10
    assert first_broken(events) is None


def test_an_append_that_waited_for_the_chains_lock_chains_to_the_event_committed_meanwhile(
        db: sessionmaker[Session]) -> None:
    """The head is read once the lock is granted, and with a view of that moment: an append that read it with the
    view of its own start (one SELECT that also took the lock, a STABLE function) would fork the chain here."""
    appended = threading.Event()

    def second() -> None:
        with db.begin() as session:
            AuditRepository(session).append(AuditEntry("U2", "x", "second"), NOW)
        appended.set()

    with db.begin() as session:
        AuditRepository(session).append(AuditEntry("U1", "x", "first"), NOW)
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not appended.wait(0.3)  # it waits for this transaction's lock (SQLite: for its write lock)
    waiting.join(timeout=10)
    assert appended.is_set()
    with db.begin() as session:
        first, later = AuditRepository(session).after(0)
    assert (first.target, later.target) == ("first", "second")
    assert later.prev_hash == first.hash
    assert first_broken([first, later]) is None


def test_a_process_that_started_before_migration_0017_takes_the_chains_lock_then_reads_its_head(
        db: sessionmaker[Session], engine: Engine) -> None:
    """A rolling deploy may start new code before the migration lands: without the function, the lock and the read
    are two statements, and the chain holds."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the chain's lock and its function are PostgreSQL's")
    command.downgrade(alembic_config(engine), "0016")
    try:
        sent: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: sent.append(" ".join(args[2].split())))
        for index in range(2):
            with db.begin() as session:
                AuditRepository(session).append(AuditEntry("U1", "x", str(index)), NOW)
        assert [s.split(" FROM")[0] for s in sent if "pam_audit_head" in s or "pg_advisory" in s] == [
            "SELECT to_regprocedure('pam_audit_head(bigint)') IS NOT NULL", "SELECT pg_advisory_xact_lock(%(key)s)",
            "SELECT pg_advisory_xact_lock(%(key)s)"]
        with db.begin() as session:
            events = list(AuditRepository(session).after(0))
        assert [e.target for e in events] == ["0", "1"] and first_broken(events) is None
    finally:
        upgrade(engine)


def test_an_append_is_two_statements_the_chains_lock_and_head_then_the_insert(
        db: sessionmaker[Session], engine: Engine) -> None:
    with db.begin() as session:
        AuditRepository(session).append(AuditEntry("U1", "x", "warm"), NOW)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with db.begin() as session:
        AuditRepository(session).append(AuditEntry("U1", "x", "counted"), NOW)
    statements = [s for s in sent if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert len(statements) == 2, statements
    assert statements[1].lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS")
