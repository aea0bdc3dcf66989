"""The console link's DM: retried in memory while the link is valid, found again rather than sent twice, and — when it
never lands (Slack refuses it, its link expires, its process stops or dies) — replaced by one "Get a new link" offer.
The link itself is never written anywhere."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from bot.services.grants import LINK_UNSETTLED_AFTER
from storage.models import AccessSession, Delivery
from tests.e2e.helpers import button_urls, wait_for
from tests.e2e.lifecycle_helpers import approve, ask, at, dms, grant_session, tick
from tests.e2e.test_replayed_asks import handle_and_die, replay
from tests.e2e.test_signin_link import signs_in
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

OFFER = "Get a new link"


def links(bot: Bot) -> list:
    return dms(bot, REQUESTER, "Open AWS Console")


def offers(bot: Bot) -> list:
    return dms(bot, REQUESTER, OFFER)


def granted(bot: Bot) -> AccessSession:
    wait_for(lambda: bot.sessions(), "the grant")
    (session,) = bot.sessions()
    return session


def link_recorded(bot: Bot) -> bool:
    return all(s.link_ts for s in bot.sessions())


def forget_link(bot: Bot) -> None:
    """What a worker killed between the grant's commit and its DM leaves: a session whose link DM is neither
    recorded nor in Slack (the DM this test's grant did send is deleted, as if it had never been posted)."""
    with bot.db.begin() as session:
        for row in session.query(AccessSession):
            if row.link_ts:
                bot.container.slack.chat_delete(channel=row.link_channel, ts=row.link_ts)
        session.execute(update(AccessSession).values(link_channel=None, link_ts=None))


def forget_where_the_link_landed(bot: Bot) -> None:
    """What a worker killed just after the DM, before recording where it landed, leaves."""
    with bot.db.begin() as session:
        session.execute(update(AccessSession).values(link_channel=None, link_ts=None))


def nothing_stored_holds_a_link(bot: Bot) -> None:
    with bot.db.begin() as session:
        payloads = json.dumps([row.payload for row in session.query(Delivery)])
    assert "federation" not in payloads and "SigninToken" not in payloads


def test_a_link_dm_slack_fails_is_retried_in_memory_and_lands_once(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.slack.fail_next("chat.postMessage", status=503, times=6)  # the first try (+ the client's 2 retries) and the next
    approve(bot, request.ref)
    session = granted(bot)
    wait_for(lambda: bot.audit("session.link_delayed"), "the link DM to be held for another try")
    wait_for(lambda: links(bot), "the link DM, on a later try", timeout=20)
    wait_for(lambda: link_recorded(bot), "where the link DM landed to be recorded")
    (link_dm,) = links(bot)
    (link,) = button_urls(link_dm.args)
    assert signs_in(bot.aws.federation, link)
    assert not offers(bot) and not bot.audit("session.link_not_delivered")
    assert bot.audit("session.link_delayed")[0].details == {"session": session.ref, "code": "service_unavailable"}
    nothing_stored_holds_a_link(bot)
    at(bot, bot.clock() + LINK_UNSETTLED_AFTER + timedelta(minutes=1))
    assert tick(bot).links_lost == 0  # it landed: nothing to offer


def test_a_link_dm_that_timed_out_but_landed_is_found_not_sent_again(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.container.slack.timeout = 1
    bot.slack.delay_next("chat.postMessage", 2)  # Slack takes the link DM, but answers after the client gave up
    approve(bot, request.ref)
    granted(bot)
    wait_for(lambda: link_recorded(bot), "the held link DM to be found where it landed", timeout=20)
    assert len(links(bot)) == 1  # looked for (conversations.history, by the session's metadata), not posted again
    history = bot.slack.calls_to("conversations.history")
    assert history and history[-1].args["channel"] == f"D{REQUESTER}"
    assert not offers(bot)


def test_a_refused_link_dm_offers_a_new_link_at_once(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")  # a refusal: trying again cannot help
    approve(bot, request.ref)
    session = granted(bot)
    wait_for(lambda: offers(bot), "the new-link offer")
    (event,) = bot.audit("session.link_not_delivered")
    assert (event.details["session"], event.details["code"]) == (session.ref, "channel_not_found")
    assert not bot.audit("session.link_delayed") and not links(bot)
    wait_for(lambda: [m for m in bot.slack.messages(CHANNEL) if m.get("thread_ts") and "offered a new link" in
                      json.dumps(m)], "the approvers' notice in the card's thread")


def test_a_link_dm_still_failing_when_its_link_expires_is_replaced_by_a_new_link_offer(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.slack.fail_next("chat.postMessage", status=500, times=3)  # the first try, with the client's two retries
    approve(bot, request.ref)
    session = granted(bot)
    wait_for(lambda: bot.audit("session.link_delayed"), "the link DM to be held")
    bot.settle()  # the approval's job is done: moving the clock cannot make it look abandoned
    at(bot, bot.clock() + timedelta(minutes=15))  # the sign-in token the held link carries has expired
    wait_for(lambda: offers(bot), "the new-link offer once the link expired", timeout=20)
    assert not links(bot)  # an expired link is not sent
    (event,) = bot.audit("session.link_not_delivered")
    assert (event.details["session"], event.details["code"]) == (session.ref, "link_expired")


def test_stopping_gives_up_the_links_still_held_with_a_new_link_offer(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.slack.fail_next("chat.postMessage", status=500, times=3)
    approve(bot, request.ref)
    granted(bot)
    wait_for(lambda: bot.audit("session.link_delayed"), "the link DM to be held")
    bot.container.courier.stop()  # as on shutdown: a held link cannot move to another process
    assert bot.container.courier.held() == 0
    (event,) = bot.audit("session.link_not_delivered")
    assert event.details["code"] == "worker_stopped"
    wait_for(lambda: offers(bot), "the new-link offer, queued in the outbox")
    assert not links(bot)


def test_a_replayed_approval_whose_link_died_with_its_worker_offers_a_new_link_once(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.container.worker.stop()
    hops = len(bot.aws.sandbox.assume_role_calls())
    approve(bot, request.ref)
    handle_and_die(bot)  # the grant committed; the worker dies before the job is marked done…
    forget_link(bot)  # …and before its link DM (what the kill leaves in the database)
    replay(bot)
    wait_for(lambda: offers(bot), "the new-link offer after the replay")
    (event,) = bot.audit("session.link_not_delivered")
    assert event.details["code"] == "worker_stopped"
    assert len(bot.sessions()) == 1 and len(bot.aws.sandbox.assume_role_calls()) == hops + 2  # one grant, no other
    at(bot, bot.clock() + LINK_UNSETTLED_AFTER + timedelta(minutes=1))
    assert tick(bot).links_lost == 0  # offered once, whoever notices
    assert len(offers(bot)) == 1


def test_a_link_that_died_outside_a_replayable_job_is_offered_anew_by_the_sweep(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    forget_link(bot)  # e.g. a scheduled start's grant, in a tick, killed before its DM
    at(bot, session.started_at + timedelta(minutes=5))
    assert tick(bot).links_lost == 0  # a live process may still be retrying it
    at(bot, session.started_at + LINK_UNSETTLED_AFTER + timedelta(seconds=1))
    assert tick(bot).links_lost == 1
    wait_for(lambda: offers(bot), "the new-link offer")
    assert bot.audit("session.link_not_delivered")[-1].details["code"] == "link_lost"
    assert tick(bot).links_lost == 0


def test_the_new_link_offer_for_a_lost_link_gives_a_working_link(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot, "access prod-aws readonly 1h checking INC-42")  # 44 minutes left at the offer
    forget_link(bot)
    at(bot, session.started_at + LINK_UNSETTLED_AFTER + timedelta(seconds=1))
    tick(bot)
    offer = wait_for(lambda: offers(bot), "the new-link offer")[0]
    before = len(links(bot))
    assert bot.driver.click(REQUESTER, "pam_new_link", session.ref, channel_id=offer.response["channel"],
                            message_ts=offer.response["ts"]).status == 200
    wait_for(lambda: len(links(bot)) == before + 1, "the new link")
    (link,) = button_urls(links(bot)[-1].args)
    assert signs_in(bot.aws.federation, link)
    # the DM goes out before the event that records it is written: wait for the event, not just the DM
    (relinked,) = wait_for(lambda: bot.audit("session.relinked"), "the relink's audit event")
    assert relinked.actor == REQUESTER
    assert APPROVER not in json.dumps(offer.args)


def test_a_replayed_approval_whose_link_did_land_finds_it_and_offers_nothing(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    bot.container.worker.stop()
    approve(bot, request.ref)
    handle_and_die(bot)
    forget_where_the_link_landed(bot)
    replay(bot)
    wait_for(lambda: link_recorded(bot), "the replay to find the link DM by its metadata")
    assert not offers(bot) and not bot.audit("session.link_not_delivered")
    assert len(links(bot)) == 1
