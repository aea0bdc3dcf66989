"""An approval's card update waits a moment for the grant's: one chat.update to "granted", or "approved" first when
the grant is slow (Slack rate-limits chat.update; every update spared is one more for a busy channel)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.services.access import GRANT_GRACE_SECONDS
from bot.services.base import on_queued
from tests.e2e.lifecycle_helpers import at, wait_for
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import APPROVER, Bot

CREATING = "Approved — creating the console session"


def updates_of(bot: Bot, ts: str) -> list[str]:
    """What each accepted chat.update of the message at `ts` said, in order."""
    return [json.dumps(c.args, ensure_ascii=False) for c in bot.slack.calls_to("chat.update")
            if c.ok and c.args.get("ts") == ts]


def test_an_approval_granted_at_once_updates_its_card_once_to_granted(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    card = bot.card()
    bot.slack.delay_next("users.info", 0.5, times=2)  # the approver's lookup, then the grant's recheck: a slow grant
    click(bot, APPROVER, "pam_approve", ref)
    wait_for(lambda: any("Granted" in update for update in updates_of(bot, card["ts"])), "the granted card")
    bot.settle()
    bot.settle_outbox()
    (update,) = updates_of(bot, card["ts"])  # never the "approved" state in between
    assert "Granted" in update and CREATING not in update


def test_a_grant_slower_than_the_grace_shows_approved_first_then_granted(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    card = bot.card()
    bot.slack.delay_next("users.info", 1.5, times=2)  # the grant's recheck holds it past the clock's jump below
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "approved")
    at(bot, bot.clock() + timedelta(seconds=GRANT_GRACE_SECONDS + 1))
    bot.container.deliverer.wake()
    wait_for(lambda: any(CREATING in update for update in updates_of(bot, card["ts"])), "the approved card")
    wait_for(lambda: any("Granted" in update for update in updates_of(bot, card["ts"])), "the granted card")
    bot.settle()
    bot.settle_outbox()
    approved, granted = updates_of(bot, card["ts"])
    assert CREATING in approved and "Granted" in granted and CREATING not in granted


def test_a_row_queued_for_later_wakes_no_deliverer_and_one_due_now_does(bot: Bot) -> None:
    # The approval's delayed card update used to wake the outbox threads in the middle of the grant, for nothing.
    woken: list[str] = []
    on_queued(bot.container.outbox.db, lambda: woken.append("woken"))
    bot.container.outbox.queue("dm", APPROVER, {"text": "later"}, delay=GRANT_GRACE_SECONDS)
    assert woken == []
    bot.container.outbox.queue("dm", APPROVER, {"text": "now"})
    assert woken == ["woken"]
    bot.settle_outbox()
    assert [c.args["text"] for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == APPROVER] \
        == ["now"]
