"""Scheduled access over HTTP: approved during the day, granted at 22:00 in the requester's zone by the scheduler
(once, also with two schedulers on PostgreSQL), cancellable until then, waiting for approval until its start."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from storage.models import AccessRequest
from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.e2e.lifecycle_helpers import tick
from tests.e2e.test_access_flow import click, wait_status
from tests.e2e.test_admin import mark, wait_after
from tests.fixtures_bot import APPROVER, REQUESTER, Bot

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 14:00 for the requester, who lives at UTC+2
START = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 22:00 for them


def ask_for_tonight(bot: Bot) -> str:
    bot.slack.add_user(REQUESTER, name="alice", email="alice@example.com", tz_offset=7200)
    bot.clock.set(NOON)
    bot.add_account()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m at 22:00 change window CHG-7")
    wait_ephemeral(bot.slack, "is waiting for approval")
    (request,) = bot.requests()
    assert request.starts_at == START and request.reason == "change window CHG-7"
    return request.ref


def grants(bot: Bot) -> int:
    return len([c for c in bot.slack.calls_to("chat.postMessage") if "Open AWS Console" in json.dumps(c.args)])


def test_approved_by_day_granted_at_the_start(bot: Bot) -> None:
    ref = ask_for_tonight(bot)
    assert "Scheduled" in json.dumps(bot.card())
    hops = len(bot.aws.sandbox.assume_role_calls())
    click(bot, APPROVER, "pam_approve", ref)
    wait_dm(bot.slack, REQUESTER, "is approved. The console link comes by DM")
    assert bot.requests()[-1].status == "approved" and not bot.sessions()

    bot.clock.advance(timedelta(hours=3))  # long past the crash-recovery delay: still waiting for 22:00
    assert tick(bot).started == 0 and tick(bot).recovered == 0
    assert len(bot.aws.sandbox.assume_role_calls()) == hops and grants(bot) == 0

    bot.clock.set(START)
    assert tick(bot).started == 1
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    wait_status(bot, ref, "granted")
    assert tick(bot).started == 0 and grants(bot) == 1


def test_a_scheduled_request_can_be_cancelled_until_its_start(bot: Bot) -> None:
    ref = ask_for_tonight(bot)
    click(bot, APPROVER, "pam_approve", ref)
    wait_dm(bot.slack, REQUESTER, "is approved")
    seen = mark(bot)
    bot.driver.command(REQUESTER, f"cancel {ref}")
    assert "is cancelled" in json.dumps(wait_after(bot, seen, "response_url").args)
    bot.clock.set(START)
    assert tick(bot).started == 0 and not bot.sessions()


def test_a_scheduled_request_waits_for_approval_until_its_start(bot: Bot) -> None:
    ask_for_tonight(bot)
    bot.clock.advance(timedelta(hours=2))  # past PAM_REQUEST_TIMEOUT (1h), still before 22:00
    assert tick(bot).expired == 0 and bot.requests()[-1].status == "pending"
    bot.clock.set(START + timedelta(minutes=1))
    assert tick(bot).expired == 1 and bot.requests()[-1].status == "expired"


def test_a_start_more_than_a_week_ahead_is_refused(bot: Bot) -> None:
    bot.clock.set(NOON)
    bot.add_account()
    seen = mark(bot)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m at 2026-03-12 10:00 later")
    assert "at most 7 days ahead" in json.dumps(wait_after(bot, seen, "response_url").args)
    assert not bot.requests()


def test_two_schedulers_grant_each_start_once(bot: Bot, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises its one process's writers; replicas need PostgreSQL")
    bot.add_account()
    (resource, account), = bot.container.services.admin.accounts()
    now = bot.clock()
    people = [f"USCHED{index:04d}" for index in range(12)]
    with bot.db.begin() as session:
        for index, person in enumerate(people):
            bot.slack.add_user(person, name=f"p{index}", email=f"p{index}@example.com")
            session.add(AccessRequest(
                ref=f"R-SC{index:04d}", requester_id=person, team_id="T0PAM", account_id=account.id,
                resource_name=resource.name, account_name=account.name, resource_role_arn=resource.role_arn,
                target_role_arn=account.role_arn, duration_seconds=900, reason="", status="approved",
                created_at=now - timedelta(hours=1), updated_at=now - timedelta(hours=1), decided_at=now,
                starts_at=now - timedelta(seconds=5), cards=[]))
    sweeps = bot.container.services.sweeps
    sweeps.grant_batch = 3
    threads = [threading.Thread(target=lambda: [sweeps.start_scheduled() for _ in range(6)]) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    sessions = [s for s in bot.sessions() if s.requester_id.startswith("USCHED")]
    assert sorted(s.requester_id for s in sessions) == people
    assert len(bot.audit("session.granted")) == len(people)
