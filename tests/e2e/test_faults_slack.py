"""Slack failing under the bot: 429 with Retry-After, 5xx, timeouts and `ok: false` are retried or told clearly."""

from __future__ import annotations

import json

import pytest

from sandbox.slack_calls import RecordedCall
from tests.e2e.helpers import wait_ephemeral
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

LINK_DM = "Open AWS Console"


def card_posts(bot: Bot) -> list[RecordedCall]:
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL
            and not c.args.get("thread_ts")]


def dm_posts(bot: Bot, user_id: str = REQUESTER) -> list[RecordedCall]:
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user_id}"]


def wait_link_dm(bot: Bot) -> RecordedCall:
    """The DM with the link that Slack accepted (failed attempts are recorded too)."""
    return bot.slack.wait_for("chat.postMessage", lambda c: c.ok and c.args.get("channel") == f"D{REQUESTER}"
                              and LINK_DM in json.dumps(c.args), timeout=15)


def thread_notice(bot: Bot, needle: str) -> str:
    call = bot.slack.wait_for("chat.postMessage", lambda c: bool(c.args.get("thread_ts"))
                              and needle in json.dumps(c.args), timeout=15)
    return json.dumps(call.args)


def test_rate_limited_dm_waits_for_retry_after_then_arrives_once(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    click(bot, APPROVER, "pam_approve", ref)
    wait_link_dm(bot)
    posts = dm_posts(bot)
    assert [p.http_status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0  # Retry-After honoured
    wait_status(bot, ref, "granted")
    assert len(bot.sessions()) == 1


def test_rate_limit_outlasting_the_retries_cancels_and_says_to_try_again(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=0, times=4)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    text = wait_ephemeral(bot.slack, "cancelled", timeout=15)
    assert "rate-limiting" in text and "try again in a minute" in text
    assert [p.http_status for p in card_posts(bot)] == [429] * 4  # the first try and three retries
    (request,) = bot.requests()
    assert request.status == "cancelled" and request.failure_code == "ratelimited"
    assert bot.audit("request.card")[-1].details["code"] == "ratelimited"


def test_server_error_once_is_retried(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=500)
    ask(bot)
    assert [p.http_status for p in card_posts(bot)] == [500, 200]
    assert bot.requests()[-1].status == "pending"


def test_server_errors_that_persist_cancel_with_a_clear_message(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=500, times=3)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    text = wait_ephemeral(bot.slack, "cancelled", timeout=15)
    assert "server error" in text and "try again in a minute" in text
    assert "internal_error." not in text  # a sentence, not a bare code
    assert bot.requests()[-1].status == "cancelled"


def test_slack_timeout_on_the_card_cancels_and_the_late_card_grants_nothing(bot: Bot) -> None:
    bot.add_account()
    bot.container.slack.timeout = 1  # the Web API client's timeout, shortened so the test is quick
    bot.slack.delay_next("chat.postMessage", 2)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    text = wait_ephemeral(bot.slack, "cancelled", timeout=10)
    assert "did not answer in time" in text
    (request,) = bot.requests()
    assert request.status == "cancelled" and request.failure_code == "slack_unreachable"
    late = bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL, timeout=5)
    assert late.ok  # Slack did post it, after the client gave up: the card is stale but harmless
    bot.container.slack.timeout = 10
    click(bot, APPROVER, "pam_approve", request.ref)
    wait_ephemeral(bot.slack, "already cancelled")
    assert not bot.sessions()


@pytest.mark.parametrize("code, hint", [("channel_not_found", "does not exist; an admin should pick another one"),
                                        ("not_in_channel", "invite it with /invite @pam-bot"),
                                        ("is_archived", "archived; an admin should pick another one")])
def test_card_refused_names_who_can_fix_it(bot: Bot, code: str, hint: str) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", error=code)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    text = wait_ephemeral(bot.slack, "cancelled")
    assert hint in text
    (request,) = bot.requests()
    assert request.status == "cancelled" and request.failure_code == code
    assert [e.details["code"] for e in bot.audit("request.card")] == [code]
    assert len(card_posts(bot)) == 1  # a refusal is final: no retry


def test_bot_removed_from_the_channel_is_reported(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_channel(CHANNEL, is_member=False)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    assert "/invite @pam-bot" in wait_ephemeral(bot.slack, "cancelled")


def test_requester_unknown_to_slack_is_refused_and_audited(bot: Bot) -> None:
    bot.add_account()
    answer = bot.driver.command("UNOBODY001", "access prod-aws readonly 30m checking INC-42")
    assert answer.json is not None and "does not know" in answer.json["text"]  # refused at the edge, in the ack
    assert not bot.requests()
    (event,) = bot.audit("slack.request")
    assert (event.actor, event.outcome, event.details["code"]) == ("UNOBODY001", "refused", "unknown_user")


def test_dm_to_a_user_slack_no_longer_knows_tells_the_approvers(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.slack.fail_next("conversations.open", error="user_not_found")
    click(bot, APPROVER, "pam_approve", ref)
    thread_notice(bot, "never reached")
    wait_status(bot, ref, "granted")
    assert not [c for c in dm_posts(bot) if LINK_DM in json.dumps(c.args)]
    assert bot.audit("session.link_not_delivered")[-1].details["code"] == "user_not_found"
