"""Slack failing under the bot: 429 with Retry-After, 5xx, timeouts and `ok: false` are retried or told clearly."""

from __future__ import annotations

import json

from sandbox.slack_calls import RecordedCall
from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

LINK_DM = "Open AWS Console"


def card_posts(bot: Bot) -> list[RecordedCall]:
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL
            and not c.args.get("thread_ts")]


def dm_posts(bot: Bot, user_id: str = REQUESTER) -> list[RecordedCall]:
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") in (f"D{user_id}", user_id)]


def wait_link_dm(bot: Bot) -> RecordedCall:
    """The DM with the link that Slack accepted (failed attempts are recorded too)."""
    return bot.slack.wait_for("chat.postMessage", lambda c: c.ok and c.args.get("channel") in (f"D{REQUESTER}", REQUESTER)
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


def test_server_error_once_is_retried(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=500)
    ask(bot)
    assert [p.http_status for p in card_posts(bot)] == [500, 200]
    assert bot.requests()[-1].status == "pending"


def test_slack_timeout_on_the_card_is_looked_for_and_the_card_lands_once(bot: Bot) -> None:
    bot.add_account()
    bot.container.deliverer.sender.client.timeout = 1  # type: ignore[attr-defined]  # the outbox's client
    # Slack takes the card, but answers after the client gave up (and before the outbox looks again, 1 s later)
    bot.slack.delay_next("chat.postMessage", 1.5)
    ref = ask(bot)
    bot.settle_outbox()
    assert len(card_posts(bot)) == 1 and bot.slack.calls_to("conversations.history")  # found, not posted again
    (request,) = bot.requests()
    assert request.status == "pending" and len(request.cards) == 1
    bot.container.deliverer.sender.client.timeout = 10  # type: ignore[attr-defined]
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "granted")




def test_bot_removed_from_the_channel_is_reported(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_channel(CHANNEL, is_member=False)
    ref = ask(bot)
    wait_status(bot, ref, "cancelled")
    assert "/invite @pam-bot" in json.dumps(wait_dm(bot.slack, REQUESTER, "could not be posted"))


def test_requester_unknown_to_slack_is_refused_and_audited(bot: Bot) -> None:
    bot.add_account()
    assert bot.driver.command("UNOBODY001", "access prod-aws readonly 30m checking INC-42").status == 200
    wait_ephemeral(bot.slack, "does not know")  # the worker checks who asked before anything else
    assert not bot.requests()
    (event,) = bot.audit("slack.request")
    assert (event.actor, event.outcome, event.details["code"]) == ("UNOBODY001", "refused", "unknown_user")


def test_dm_to_a_user_slack_no_longer_knows_tells_the_approvers(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.slack.fail_next("chat.postMessage", error="user_not_found")  # the link DM: the first post
    click(bot, APPROVER, "pam_approve", ref)
    thread_notice(bot, "never reached")
    wait_status(bot, ref, "granted")
    assert not [c for c in dm_posts(bot) if c.ok and LINK_DM in json.dumps(c.args)]  # refused, never landed
    assert bot.audit("session.link_not_delivered")[-1].details["code"] == "user_not_found"
