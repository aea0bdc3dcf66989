"""What one grant costs pam-bot, counted (never timed): Slack calls and SQL statements of the Approve job."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState

from tests.fixtures_bot import APPROVER, CHANNEL, OUTSIDER, REQUESTER, Bot

# One Approve that ends in a grant: the job's claim and deletion, the approver check, the decision, the grant's
# claim, the session with its audit events, where the DM went. It was 35 statements (37 on PostgreSQL, which
# also takes the audit chain's advisory lock) in 8 transactions before the cuts, 28 (30) in 7 after them; the
# outbox then added its rows for the two card updates (4 statements), queued in the decision's transaction and in
# the one that records where the link DM landed. Then 27 (29): an approval read, recorded and claimed in one
# transaction; 21 (23) since each conditional update returns its row (RETURNING, no read after it) and the views
# reuse the decisions and the session their transactions hold; 18 (20) since the approver check reads the request
# with its account in one statement, the UPDATE that approves is also the grant's claim, and a request that needs one
# approval is not read for decisions (while it is pending it has none: one approval or one denial decides it).
# On PostgreSQL the audit chain's lock and the read of its head became one statement (migration 0017): 18 on both;
# 17 since the approval's read of the request also says whether the session ref it offers is free; on PostgreSQL
# 16 since the job's claim is one UPDATE … RETURNING.
STATEMENTS_PER_GRANT = {"sqlite": 17, "postgresql": 16}
TRANSACTIONS_PER_GRANT = 5  # the approver check, the approval and the grant's claim share one


def ask(bot: Bot, user_id: str) -> dict[str, Any]:
    """/pam access, handled by the worker in this thread; the approval card it posted."""
    assert bot.driver.command(user_id, "access prod-aws readonly 30m cost check").status == 200
    assert bot.container.worker.run_once()
    bot.container.deliverer.drain()  # the card goes out through the outbox (its threads stop with the worker)
    return bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL
                              and f"<@{user_id}>" in str(c.args.get("text")))


@contextmanager
def statements_of_this_thread(bot: Bot) -> Iterator[list[str]]:
    """SQL sent from the calling thread (the web path answers in threads of its own); a transaction's start
    is counted as `BEGIN` on both databases (SQLite's driver sends it as a statement, psycopg does not), and a
    pooled connection's ping before it is lent (a round trip the statement events do not see) as a statement."""
    seen: list[str] = []
    me = threading.get_ident()
    engine = bot.container.engine
    ping = engine.dialect.do_ping

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == me and not statement.lstrip().upper().startswith("BEGIN"):
            seen.append(statement)

    def begin(conn: Any) -> None:
        if threading.get_ident() == me:
            seen.append("BEGIN")

    def pinged(dbapi_connection: Any) -> bool:
        if threading.get_ident() == me:
            seen.append("-- the pool's ping before lending a connection")
        return ping(dbapi_connection)

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "begin", begin)
    engine.dialect.do_ping = pinged  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "begin", begin)
        del engine.dialect.do_ping  # the dialect's own method again


def click_approve(bot: Bot, card: Any) -> None:
    """Approve on the card (recorded by the web path); the worker has not handled it yet."""
    ref = str(bot.requests()[-1].ref)
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL,
                            message_ts=card.response["ts"]).status == 200


def approve(bot: Bot, card: Any) -> None:
    click_approve(bot, card)
    assert bot.container.worker.run_once()
    assert bot.requests()[-1].status == "granted"


def test_an_approver_is_looked_up_once_while_the_requester_is_checked_at_every_grant(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()  # jobs run here, one at a time, so every call below belongs to one of them
    approve(bot, ask(bot, REQUESTER))
    card = ask(bot, OUTSIDER)
    seen = len(bot.slack.calls)
    approve(bot, card)
    looked_up = [c.args.get("user") for c in bot.slack.calls[seen:] if c.method == "users.info"]
    assert looked_up == [OUTSIDER]  # the approver was checked minutes ago; the requester is checked again


def test_the_link_dm_is_one_slack_call_to_the_requesters_user_id(bot: Bot) -> None:
    """Slack posts a message whose channel is a user id to that person's DM with the app: no conversations.open
    before it (one round trip to Slack fewer between the click and the link)."""
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()
    card = ask(bot, REQUESTER)
    seen = len(bot.slack.calls)
    approve(bot, card)
    methods = [c.method for c in bot.slack.calls[seen:]]
    assert "conversations.open" not in methods
    (link,) = [c for c in bot.slack.calls[seen:] if c.method == "chat.postMessage" and "is ready" in str(c.args)]
    assert link.args["channel"] == REQUESTER and link.ok and link.response["channel"] == f"D{REQUESTER}"


def test_one_grant_sends_a_bounded_number_of_sql_statements(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()
    approve(bot, ask(bot, REQUESTER))  # warm: the first grant also reads the installation's settings
    click_approve(bot, ask(bot, OUTSIDER))
    run_job_within(bot, "granted", TRANSACTIONS_PER_GRANT, STATEMENTS_PER_GRANT)


def test_a_session_ref_the_approval_finds_taken_is_not_given_to_the_grant(bot: Bot,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The approval offers its grant a session ref read with the request; one a session has is never reused."""
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()
    approve(bot, ask(bot, REQUESTER))
    (first,) = bot.sessions()
    monkeypatch.setattr("bot.services.access.new_session_ref", lambda: first.ref)
    approve(bot, ask(bot, OUTSIDER))
    refs = [session.ref for session in bot.sessions()]
    assert len(refs) == 2 and refs[0] == first.ref and refs[1] != first.ref


def test_the_grant_job_writes_without_the_orms_unit_of_work(bot: Bot) -> None:
    """The job's claim, the decision, the two status changes, the session, where the link DM landed, the outbox's
    rows and the job's end are Core statements, most of them prebuilt: no ORM flush writes a row and no ORM-enabled
    statement changes one (either works out what to write on every call, about twice the cost of the round trip)."""
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()
    approve(bot, ask(bot, REQUESTER))
    click_approve(bot, ask(bot, OUTSIDER))
    with orm_writes_of_this_thread(bot) as writes:
        assert bot.container.worker.run_once()
    assert bot.requests()[-1].status == "granted"
    assert writes == []


@contextmanager
def orm_writes_of_this_thread(bot: Bot) -> Iterator[list[str]]:
    """The rows the ORM writes from the calling thread, as `INSERT table` or `UPDATE table`: flushed objects, and
    ORM-enabled INSERT, UPDATE and DELETE statements."""
    seen: list[str] = []
    me = threading.get_ident()

    def flushed(session: Any, _context: Any) -> None:
        if threading.get_ident() == me:
            seen.extend([*(f"INSERT {inspect(row).mapper.local_table.name}" for row in session.new),
                         *(f"UPDATE {inspect(row).mapper.local_table.name}" for row in session.dirty)])

    def executed(state: ORMExecuteState) -> None:
        if threading.get_ident() == me and state.is_orm_statement and (state.is_insert or state.is_update
                                                                        or state.is_delete):
            kind = "INSERT" if state.is_insert else "UPDATE" if state.is_update else "DELETE"
            seen.append(f"{kind} {cast(Any, state.statement).table.name}")

    event.listen(bot.db, "after_flush", flushed)
    event.listen(bot.db, "do_orm_execute", executed)
    try:
        yield seen
    finally:
        event.remove(bot.db, "after_flush", flushed)
        event.remove(bot.db, "do_orm_execute", executed)


def run_job_within(bot: Bot, status: str, transactions: int, statements: dict[str, int]) -> None:
    """Handle the waiting job in this thread: the last request ends `status`, in at most `transactions` and
    `statements` (by database); the statements sent are shown when either bound is passed."""
    with statements_of_this_thread(bot) as seen:
        assert bot.container.worker.run_once()
    assert bot.requests()[-1].status == status
    shown = "\n".join(" ".join(s.split())[:120] for s in seen)
    assert seen.count("BEGIN") <= transactions, shown
    assert len(seen) - seen.count("BEGIN") <= statements[bot.engine.dialect.name], shown


# One /pam access that ends in a pending request with its card queued: the job's claim and deletion, the account
# read for the eligibility check, the ask's lock, checks and insert, the card's outbox row, the audit event. It was
# 16 statements (18 on PostgreSQL) with a savepoint around the insert and the new request's account and (no)
# decisions read again for its card; then 12 (14). Since an account whose requesters are named (or everyone) is
# judged on the account the ask's transaction reads, 11 (13) in 3 transactions (the job's claim, the ask, the
# job's deletion) instead of 4; 10 (12) since the day's grants are counted only for an auto-approval with a limit;
# 10 (11) since the audit chain's lock and head are one statement on PostgreSQL; 10 (10) since the job's claim is.
STATEMENTS_PER_ASK = {"sqlite": 10, "postgresql": 10}
TRANSACTIONS_PER_ASK = 3


def test_one_ask_sends_a_bounded_number_of_sql_statements(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    bot.container.worker.stop()
    ask(bot, REQUESTER)  # warm
    assert bot.driver.command(OUTSIDER, "access prod-aws readonly 30m cost check").status == 200
    run_job_within(bot, "pending", TRANSACTIONS_PER_ASK, STATEMENTS_PER_ASK)
