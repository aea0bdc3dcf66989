"""An ask whose worker died after handling it, before marking it done, is handled again: the same request, not a
second one (a second grant, a second card)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.e2e.helpers import wait_dm
from tests.e2e.lifecycle_helpers import grant_session
from tests.e2e.test_access_flow import click, wait_status
from tests.e2e.test_extend import warning_of
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot


def handle_and_die(bot: Bot) -> None:
    """A worker claims the one recorded interaction, does all its work, and dies before deleting it."""
    (job,) = bot.container.inbox.claim()
    bot.container.worker.handle(job)


def replay(bot: Bot) -> None:
    bot.clock.advance(timedelta(seconds=31))  # the dead worker's lease runs out
    bot.container.worker.start()
    bot.settle()


def test_a_replayed_auto_approved_ask_grants_once(bot: Bot) -> None:
    bot.add_account(auto_approve=True)
    bot.container.worker.stop()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking")
    handle_and_die(bot)
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    replay(bot)
    assert [r.status for r in bot.requests()] == ["granted"]
    assert len(bot.sessions()) == 1
    assert len([c for c in bot.slack.dms_to(REQUESTER) if "Open AWS Console" in str(c.args)]) == 1


def test_a_replayed_ask_whose_request_was_granted_meanwhile_asks_nothing_new(bot: Bot) -> None:
    bot.add_account()
    bot.container.worker.stop()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking")
    handle_and_die(bot)
    (request,) = bot.requests()
    bot.container.worker.start()
    click(bot, APPROVER, "pam_approve", request.ref)
    wait_status(bot, request.ref, "granted")
    bot.container.worker.stop()  # finishes the click; the ask stays leased to the dead worker
    replay(bot)
    assert [r.ref for r in bot.requests()] == [request.ref]
    assert len(bot.slack.messages(CHANNEL)) == 1  # no second approval card


def test_a_replayed_pending_ask_keeps_its_one_card(bot: Bot) -> None:
    bot.add_account()
    bot.container.worker.stop()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking")
    handle_and_die(bot)
    replay(bot)
    assert [r.status for r in bot.requests()] == ["pending"]
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_a_replayed_extend_click_extends_once(bot: Bot) -> None:
    bot.add_account(max_extensions=2, extend_without_approval=True, duration="30m")
    first = grant_session(bot)
    warning = warning_of(bot, first.ref)
    bot.container.worker.stop()
    bot.driver.click(REQUESTER, "pam_extend", first.ref, channel_id=f"D{REQUESTER}", message_ts=warning["ts"])
    handle_and_die(bot)  # the extension was granted; its worker died before marking the click done
    (extension,) = [s for s in bot.sessions() if s.continues == first.ref]
    replay(bot)
    assert [s.ref for s in bot.sessions() if s.continues] == [extension.ref]  # no second extension
    assert [r.extends for r in bot.requests()].count(first.ref) == 1
    answers = [json.dumps(c.args) for c in bot.slack.calls_to("response_url")]
    assert not any("You already have request" in answer for answer in answers), answers
