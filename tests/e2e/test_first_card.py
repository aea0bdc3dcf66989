"""The first approval card goes through the Slack outbox: queued with its request (a rollback queues none),
retried, recorded where it landed, found by its updates; a refusal cancels the request and tells the requester."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text

from sandbox.slack_calls import RecordedCall
from tests.e2e.helpers import has_buttons, wait_ephemeral, wait_for
from tests.e2e.lifecycle_helpers import at, dms, request_row
from tests.e2e.test_access_flow import ask, wait_status
from tests.e2e.test_outbox import deliveries
from tests.fixtures_bot import APPROVER, APPROVER_2, CHANNEL, GROUP, REQUESTER, Bot

ASK = "access prod-aws readonly 30m checking INC-42"


def card_posts(bot: Bot) -> list[RecordedCall]:
    """Every try at posting a card in the approval channel (refused ones too), thread replies left out."""
    return [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL
            and not c.args.get("thread_ts")]


def wait_landed(bot: Bot, ref: str, tries: int = 6) -> dict[str, str]:
    """Let the outbox deliver, moving the clock past each backoff, until the request's card is recorded."""
    for _ in range(tries):
        bot.settle_outbox()
        cards = request_row(bot, ref).cards
        if cards:
            (card,) = cards
            return card
        at(bot, bot.clock() + timedelta(seconds=6))
    raise AssertionError(f"the card of {ref} never landed: {[c.http_status for c in card_posts(bot)]}")


def test_server_errors_on_the_first_card_are_retried_and_it_lands_once(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=503, times=3)  # more than a Web API client retries by itself
    ref = ask(bot)  # the requester hears it is waiting: the card's fate is the outbox's
    card = wait_landed(bot, ref)
    posts = card_posts(bot)
    assert [p.http_status for p in posts] == [503, 503, 503, 200]
    assert card == {"channel": CHANNEL, "ts": posts[-1].response["ts"]}
    assert request_row(bot, ref).status == "pending"
    assert len(bot.slack.messages(CHANNEL)) == 1 and has_buttons(bot.slack.messages(CHANNEL)[0])


def test_a_rate_limited_first_card_waits_out_retry_after_and_lands_once(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1, times=4)
    ref = ask(bot)
    card = wait_landed(bot, ref)
    posts = card_posts(bot)
    assert [p.http_status for p in posts] == [429, 429, 429, 429, 200]
    assert posts[1].at - posts[0].at >= 1.0  # Retry-After honoured
    assert card["ts"] == posts[-1].response["ts"] and len(bot.slack.messages(CHANNEL)) == 1
    assert request_row(bot, ref).status == "pending"


@pytest.mark.parametrize("code, hint", [("channel_not_found", "does not exist; an admin should pick another one"),
                                        ("not_in_channel", "invite it with /invite @pam-bot"),
                                        ("is_archived", "archived; an admin should pick another one"),
                                        ("invalid_blocks", "invalid_blocks")])
def test_a_first_card_slack_refuses_cancels_the_request_and_tells_the_requester(bot: Bot, code: str,
                                                                                hint: str) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", error=code)
    ref = ask(bot)
    wait_status(bot, ref, "cancelled")
    (dm,) = wait_for(lambda: dms(bot, REQUESTER, ref, "cancelled"), "the requester's DM")
    assert "could not be posted" in json.dumps(dm.args) and hint in json.dumps(dm.args)
    request = request_row(bot, ref)
    assert (request.failure_code, request.cards) == (code, [])
    assert [(e.outcome, e.details["code"]) for e in bot.audit("request.card")] == [("failed", code)]
    at(bot, bot.clock() + timedelta(hours=3))  # past every backoff and the outbox's give-up
    bot.settle()
    assert len(card_posts(bot)) == 1  # a refusal is final: never tried again
    assert len(dms(bot, REQUESTER, ref, "cancelled")) == 1


def test_an_approve_click_on_a_card_the_outbox_posted_updates_that_card(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    card = wait_landed(bot, ref)
    (post,) = card_posts(bot)
    metadata = post.args["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert metadata["event_type"] == "pam_outbox"  # posted by the outbox, which names its row on the post
    assert card == {"channel": CHANNEL, "ts": post.response["ts"]}
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_status(bot, ref, "granted")
    bot.slack.wait_for("chat.update", lambda c: c.args.get("ts") == card["ts"] and "Granted" in json.dumps(c.args),
                       timeout=10)
    message = bot.slack.message(CHANNEL, card["ts"])
    assert message is not None and "Granted" in json.dumps(message) and not has_buttons(message)
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_a_cancel_before_the_first_card_landed_waits_for_it_then_updates_it(bot: Bot) -> None:
    bot.add_account()
    bot.slack.fail_next("chat.postMessage", status=503, times=3)
    ref = ask(bot)
    wait_for(lambda: len(card_posts(bot)) >= 2, "two tries of the card")
    bot.settle_outbox()  # the card now waits out its backoff in the queue
    assert not request_row(bot, ref).cards
    bot.driver.command(REQUESTER, f"cancel {ref}")
    wait_ephemeral(bot.slack, f"Request {ref} is cancelled")
    card = wait_landed(bot, ref)
    bot.settle_outbox()
    updates = bot.slack.calls_to("chat.update")
    assert updates and all(u.args.get("ts") == card["ts"] for u in updates)  # none sent to nowhere
    assert updates[-1].at > card_posts(bot)[-1].at  # the update followed the post
    message = bot.slack.message(CHANNEL, card["ts"])
    assert message is not None and "Cancelled" in json.dumps(message) and not has_buttons(message)
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_without_a_channel_each_approver_gets_the_card_by_dm_through_the_outbox(bot: Bot) -> None:
    bot.add_account(approval_channel=None)
    ref = ask(bot)
    bot.settle()
    assert sorted((d.kind, d.channel) for d in deliveries(bot)) == [("dm", APPROVER), ("dm", APPROVER_2)]
    cards = request_row(bot, ref).cards
    assert sorted(c["channel"] for c in cards) == [f"D{APPROVER}", f"D{APPROVER_2}"]
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=f"D{APPROVER}",
                            message_ts=cards[0]["ts"]).status == 200
    wait_status(bot, ref, "granted")
    for card in cards:
        bot.slack.wait_for("chat.update", lambda c, ts=card["ts"]: c.args.get("ts") == ts
                           and "Granted" in json.dumps(c.args), timeout=10)


def test_when_slack_refuses_one_approvers_card_the_cards_that_landed_lose_their_buttons(bot: Bot) -> None:
    bot.add_account(approval_channel=None)
    bot.container.deliverer.stop()  # the cards wait in the outbox; this test delivers them one at a time
    assert bot.driver.command(REQUESTER, ASK).status == 200
    wait_for(lambda: len(deliveries(bot)) == 2, "the two card DMs queued")
    (ref,) = [r.ref for r in bot.requests()]
    assert bot.container.deliverer.drain(limit=1) == 1  # the first approver's card lands
    (landed,) = request_row(bot, ref).cards
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")  # the second approver's is refused
    bot.container.deliverer.drain()
    assert request_row(bot, ref).status == "cancelled"
    update = bot.slack.wait_for("chat.update", lambda c: c.args.get("ts") == landed["ts"], timeout=10)
    assert update.args["channel"] == landed["channel"] and not has_buttons(update.args)
    assert "cancelled" in json.dumps(update.args).lower()
    assert [e.target for e in bot.audit("request.cards_closed")] == [ref]


def test_without_a_channel_an_unreadable_approver_group_refuses_the_ask_and_queues_nothing(bot: Bot) -> None:
    bot.add_account(approval_channel=None, approver_ids=(), approver_group=GROUP)
    bot.slack.fail_next("usergroups.users.list", error="missing_scope")
    assert bot.driver.command(REQUESTER, ASK).status == 200
    wait_ephemeral(bot.slack, "could not read the user group")
    bot.settle()
    assert bot.requests() == [] and deliveries(bot) == []
    refused = bot.audit("request.create")[-1]
    assert (refused.outcome, refused.details["code"]) == ("refused", "group_unreadable")


@contextmanager
def refused_request_commits(bot: Bot) -> Iterator[None]:
    """A database trigger refuses the new request's audit event, so its transaction rolls back at commit (after
    the request row and its card's outbox row were written in it)."""
    if bot.engine.dialect.name == "sqlite":
        create = ["CREATE TRIGGER refuse_request_create BEFORE INSERT ON audit_events "
                  "WHEN NEW.action = 'request.create' AND NEW.outcome = 'ok' "
                  "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
        drop = ["DROP TRIGGER refuse_request_create"]
    else:
        create = ["CREATE FUNCTION refuse_request_create() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                  "IF NEW.action = 'request.create' AND NEW.outcome = 'ok' THEN "
                  "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
                  "CREATE TRIGGER refuse_request_create BEFORE INSERT ON audit_events "
                  "FOR EACH ROW EXECUTE FUNCTION refuse_request_create()"]
        drop = ["DROP TRIGGER refuse_request_create ON audit_events", "DROP FUNCTION refuse_request_create()"]
    with bot.engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with bot.engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def test_a_request_whose_transaction_rolls_back_queues_no_card(bot: Bot) -> None:
    bot.add_account()
    with refused_request_commits(bot):
        assert bot.driver.command(REQUESTER, ASK).status == 200
        wait_ephemeral(bot.slack, "Something went wrong")
        bot.settle_outbox()
    assert bot.requests() == [] and deliveries(bot) == []
    assert not card_posts(bot)


def test_a_replayed_ask_queues_its_card_once(bot: Bot) -> None:
    bot.add_account()
    bot.container.worker.stop()  # and the outbox's threads: the card waits in its row
    assert bot.driver.command(REQUESTER, ASK).status == 200
    (job,) = bot.container.inbox.claim()
    bot.container.worker.handle(job)  # handled, then the worker dies before marking it done
    assert [(d.kind, d.channel) for d in deliveries(bot)] == [("post", CHANNEL)] and not card_posts(bot)
    bot.clock.advance(timedelta(seconds=31))  # the dead worker's lease runs out: the ask is handled again
    bot.container.worker.start()
    bot.settle()
    (request,) = bot.requests()
    assert request.status == "pending" and len(request.cards) == 1
    assert [(d.kind, d.state) for d in deliveries(bot)] == [("post", "done")]
    assert len(card_posts(bot)) == 1 and len(bot.slack.messages(CHANNEL)) == 1
