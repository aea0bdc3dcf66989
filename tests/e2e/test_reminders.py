"""Reminders that escalate: PAM_REMINDERS sets when approvers are nudged in the card's thread; the last one also
wakes the account's escalation channel or group; then the request expires. Each reminder is sent once, also by
several schedulers on one PostgreSQL database."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.domain.errors import ConfigError
from storage.models import AccessRequest
from tests.e2e.helpers import wait_ephemeral
from tests.e2e.lifecycle_helpers import tick
from tests.fixtures_bot import APPROVER, APPROVER_2, CHANNEL, REQUESTER, Bot

ESCALATION = "CESCALATE"


def thread_notes(bot: Bot, ts: str) -> list[str]:
    return [json.dumps(c.args) for c in bot.slack.calls_to("chat.postMessage") if c.ok and c.args.get("thread_ts") == ts]


def test_reminders_follow_the_schedule_then_escalate_then_expire(make_bot) -> None:
    bot: Bot = make_bot(PAM_REMINDERS="15m,30m,45m", PAM_REQUEST_TIMEOUT="1h")
    bot.slack.add_channel(ESCALATION)
    bot.add_account(escalate_to=ESCALATION)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-7")
    wait_ephemeral(bot.slack, "is waiting for approval")
    ts = bot.card()["ts"]

    bot.clock.advance(timedelta(minutes=10))
    assert tick(bot).reminded == 0
    for minutes, count in ((6, 1), (15, 2)):  # at 16 and 31 minutes
        bot.clock.advance(timedelta(minutes=minutes))
        assert tick(bot).reminded == 1 and tick(bot).reminded == 0
        notes = thread_notes(bot, ts)
        assert len(notes) == count and f"<@{APPROVER}>" in notes[-1] and f"<@{APPROVER_2}>" in notes[-1]
    assert not bot.slack.messages(ESCALATION)

    bot.clock.advance(timedelta(minutes=15))  # 46 minutes: the last reminder escalates
    assert tick(bot).reminded == 1
    assert "Escalated" in thread_notes(bot, ts)[-1]
    (escalated,) = bot.slack.messages(ESCALATION)
    assert bot.requests()[-1].ref in json.dumps(escalated) and f"<#{CHANNEL}>" in json.dumps(escalated)
    assert [e.details["reminder"] for e in bot.audit("request.reminded")] == [1, 2, 3]

    bot.clock.advance(timedelta(minutes=15))
    assert tick(bot).expired == 1 and bot.requests()[-1].status == "expired"


def test_a_group_to_escalate_to_is_mentioned_in_the_thread(make_bot) -> None:
    bot: Bot = make_bot(PAM_REMINDERS="10m")
    bot.add_account(escalate_to="SLEADS")
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-8")
    wait_ephemeral(bot.slack, "is waiting for approval")
    ts = bot.card()["ts"]
    bot.clock.advance(timedelta(minutes=11))
    assert tick(bot).reminded == 1
    assert "<!subteam^SLEADS>" in thread_notes(bot, ts)[-1]


@pytest.mark.parametrize("value, problem", [("30m,15m", "increasing"), ("10s", "at least 1m"), ("soon", "like"),
                                            ("15m,2h", "before PAM_REQUEST_TIMEOUT")])
def test_a_bad_reminder_schedule_is_named_at_start(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"PAM_REMINDERS": value}, require_slack=False)
    assert "PAM_REMINDERS" in refused.value.user_message and problem in refused.value.user_message


def test_two_schedulers_send_each_reminder_once(bot: Bot, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises its one process's writers; replicas need PostgreSQL")
    bot.add_account()
    (_, account), = bot.container.services.admin.accounts()
    now = bot.clock()
    with bot.db.begin() as session:
        for index in range(120):
            session.add(AccessRequest(
                ref=f"R-RM{index:04d}", requester_id=f"UREQ{index:05d}", team_id="T0PAM", account_id=account.id,
                resource_name="prod-aws", account_name="readonly", resource_role_arn=account.role_arn,
                target_role_arn=account.role_arn, duration_seconds=900, reason="", status="pending",
                created_at=now - timedelta(minutes=40), updated_at=now, cards=[{"channel": CHANNEL, "ts": "1.000001"}]))
    sweeps = bot.container.services.sweeps
    sweeps.batch, sweeps.max_batches = 10, 20  # small batches, so that both take turns on the same due rows
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(sweeps.remind_approvers())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 120
    bot.settle_outbox()  # each reminder is audited when the outbox renders it
    reminded = Counter(e.target for e in bot.audit("request.reminded"))
    assert len(reminded) == 120 and set(reminded.values()) == {1}
    assert all(r.reminders_sent == 1 for r in bot.requests() if r.ref.startswith("R-RM"))
