"""What one ack costs the web path, counted (never timed): what the database runs, ORM sessions, Slack calls, the
Bolt listeners tried before the one that answers and our Bolt middleware.

The worker is stopped first, so everything counted is the web path's: verify, record one row, ack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.listener.listener import Listener
from slack_bolt.middleware.custom_middleware import CustomMiddleware
from sqlalchemy import event, select

from sandbox.sql_statements import sent_statements
from storage.models import Account, Resource
from tests.e2e.test_access_flow import ask
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

# On PostgreSQL the INSERT commits by itself (autocommit): one round trip. SQLite takes its write lock first
# (BEGIN IMMEDIATE) and commits after; both are local calls there. Before, PostgreSQL also got BEGIN and COMMIT.
STATEMENTS_PER_ACK = {"postgresql": ["INSERT"], "sqlite": ["BEGIN", "INSERT", "COMMIT"]}
# After the ack, off its path: on PostgreSQL the row is announced to the workers of other processes, a transaction of
# its own sent as one string (storage/autocommit.py); before migration 0018 the INSERT itself notified.
ANNOUNCED = {"postgresql": ["BEGIN;"], "sqlite": []}


@dataclass
class AckCost:
    statements: list[str] = field(default_factory=list)  # first word of each the database gets, BEGIN/COMMIT too
    announced: list[str] = field(default_factory=list)  # the same, sent by the thread that announces new rows
    executed: list[str] = field(default_factory=list)  # first word of each SQLAlchemy executed
    orm_transactions: int = 0
    slack_calls: list[str] = field(default_factory=list)
    bolt_dispatches: int = 0  # requests the web path handed to Bolt
    listeners_tried: int = 0
    our_middleware: int = 0  # Bolt builds every middleware's arguments anew for each request


@contextmanager
def ack_cost(bot: Bot) -> Iterator[AckCost]:
    """Count what the web path does while the block runs. A transaction's BEGIN and COMMIT are counted where
    the database gets them: not under autocommit; SQLite's BEGIN IMMEDIATE arrives as a statement. On PostgreSQL
    the statements are counted where psycopg's cursors send them (a cursor factory on each connection the pool
    lends), so one sent without SQLAlchemy counts too; on SQLite where SQLAlchemy executes them."""
    cost, engine, sqlite = AckCost(), bot.container.engine, bot.engine.dialect.name == "sqlite"
    autocommit = lambda conn: conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"  # noqa: E731

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        cost.executed.append(text.split(None, 1)[0].upper())
        if sqlite:
            cost.statements.append(cost.executed[-1])

    def begin(conn: Any) -> None:
        if not sqlite and not autocommit(conn):
            cost.statements.append("BEGIN")

    def commit(conn: Any) -> None:
        if not autocommit(conn):
            cost.statements.append("COMMIT")

    def orm_begin(*args: Any) -> None:
        cost.orm_transactions += 1

    def profile(frame: FrameType, what: str, arg: Any) -> None:  # in the server's request thread
        if what == "call" and frame.f_code is App.dispatch.__code__:
            cost.bolt_dispatches += 1
        elif what == "call" and frame.f_code is Listener.matches.__code__:
            cost.listeners_tried += 1
        elif what == "call" and frame.f_code is CustomMiddleware.process.__code__:
            cost.our_middleware += 1

    hooks = [(engine, "before_cursor_execute", statement), (engine, "begin", begin), (engine, "commit", commit),
             (bot.db, "after_begin", orm_begin)]
    if not sqlite:
        hooks += sent_statements(engine, lambda word: (
            cost.announced if threading.current_thread().name == "pam-announce" else cost.statements).append(word))
    announcer = bot.container.inbox.announcer
    assert announcer is None or announcer.settled(10), "an earlier announcement is still being sent"
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    before = len(bot.slack.calls)
    threading.setprofile(profile)  # threads started from now on: the HTTP server's thread for the request
    try:
        yield cost
        assert announcer is None or announcer.settled(10), "the ack's announcement was not sent"
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]  # typeshed lacks None; the docs allow it
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        cost.slack_calls = [call.method for call in bot.slack.calls[before:]]


def test_an_approve_click_is_acknowledged_with_one_insert_and_nothing_else(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    ref = ask(bot)
    card = bot.card()
    bot.container.worker.stop()  # from here on only the web path works

    def approve() -> None:
        assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200

    approve()  # the approver is checked with Slack once, then remembered
    with ack_cost(bot) as cost:
        approve()
    assert cost.statements == STATEMENTS_PER_ACK[bot.engine.dialect.name]
    assert cost.announced == ANNOUNCED[bot.engine.dialect.name]
    assert cost.orm_transactions == 0
    assert cost.slack_calls == []
    assert (cost.bolt_dispatches, cost.listeners_tried, cost.our_middleware) == (0, 0, 0)  # recorded directly
    assert bot.container.inbox.depth()[0] == 2


def test_a_pam_access_command_is_acknowledged_with_one_insert_and_no_slack_call(bot: Bot) -> None:
    bot.add_account()
    ask(bot)  # the requester is checked with Slack once, then remembered
    bot.container.worker.stop()
    with ack_cost(bot) as cost:
        assert bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-43").status == 200
    assert cost.statements == STATEMENTS_PER_ACK[bot.engine.dialect.name]
    assert cost.orm_transactions == 0
    assert cost.slack_calls == []
    assert (cost.bolt_dispatches, cost.listeners_tried, cost.our_middleware) == (0, 0, 0)  # recorded directly
    assert bot.container.inbox.depth()[0] == 1


def test_on_postgresql_the_ack_s_insert_goes_to_the_driver_without_sqlalchemy_s_execution(bot: Bot) -> None:
    """SQLAlchemy's transaction and execution context around the ack's one INSERT cost more CPU than the statement
    (bench/RESULTS.md, day eight): psycopg sends it on a pooled connection, and it lands as any other row."""
    if bot.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes through SQLAlchemy: its BEGIN IMMEDIATE orders the writers")
    bot.add_account()
    ask(bot)
    bot.container.worker.stop()
    with ack_cost(bot) as cost:
        assert bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-46").status == 200
    assert (cost.statements, cost.executed) == (["INSERT"], [])
    (job,) = bot.container.inbox.claim()
    assert (job.kind, job.body["text"], job.attempts) == ("slash_command", "access prod-aws readonly 30m checking "
                                                          "INC-46", 1)
    assert job.created_at == bot.clock() and "token" not in job.body


def test_what_the_front_does_before_its_ack_still_goes_through_bolt(bot: Bot) -> None:
    """A command whose account wants a reason opens the request form: Bolt's listener, with the member check."""
    bot.add_account(require_reason=True)
    ask(bot, text="access prod-aws readonly 30m checking INC-45")
    bot.container.worker.stop()
    with ack_cost(bot) as cost:
        assert bot.driver.command(REQUESTER, "access prod-aws readonly").status == 200
    assert cost.bolt_dispatches == 1 and cost.our_middleware == 1
    assert cost.slack_calls == ["views.open"]
    assert bot.container.inbox.depth()[0] == 0


def test_a_new_requester_is_acknowledged_without_a_slack_call(bot: Bot) -> None:
    """Is this a member of the workspace? The worker's installation guard asks Slack, not the ack."""
    bot.add_account()
    bot.slack.add_user("UNEWCOMER2", name="nina", email="nina@example.com")
    bot.container.worker.stop()
    with ack_cost(bot) as cost:
        assert bot.driver.command("UNEWCOMER2", "access prod-aws readonly 30m checking INC-44").status == 200
    assert cost.slack_calls == []
    assert cost.statements == STATEMENTS_PER_ACK[bot.engine.dialect.name]


def test_many_accounts_are_listed_from_rows_without_an_orm_object_each(bot: Bot) -> None:
    """The request modal opens on the web path within its trigger's 3 s, and the Home tab reads every account for
    its approvals: both read the accounts as rows. Building an ORM object per account was most of a 1,000-account
    modal's time (bench/RESULTS.md, day seven)."""
    target = bot.add_account()
    with bot.db.begin() as session:
        resource = session.scalars(select(Resource)).one()
        now = bot.clock()
        session.add_all(Account(resource_id=resource.id, name=f"team-{i:03d}", role_arn=target,
                                default_duration_seconds=3600, approver_ids=[APPROVER], approval_channel=CHANNEL,
                                requesters_everyone=True, created_by="seed", created_at=now, updated_at=now)
                        for i in range(150))
    built: list[str] = []

    def loaded(row: Account, _context: Any) -> None:
        built.append(row.name)

    event.listen(Account, "load", loaded)
    try:
        assert bot.driver.app_home_opened(REQUESTER).status == 200
        home = bot.slack.wait_for("views.publish", lambda c: c.args.get("user_id") == REQUESTER)
        assert bot.driver.click(REQUESTER, "pam_open_request", "", view=home.response["view"]).status == 200
        modal = bot.slack.wait_for("views.open", lambda c: "Showing 100 of 151" in json.dumps(c.args))
    finally:
        event.remove(Account, "load", loaded)
    assert modal.ok, modal.describe()
    assert built == []
