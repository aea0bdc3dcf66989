"""The Slack outbox over HTTP: retries with backoff, Retry-After, final refusals, no double posts, a quiet tick."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.runtime.deliverer import Deliverer
from sandbox.slack_payloads import plain_text_value
from bot.services.outbox import LEASE, Job
from bot.slack.outbox_sender import SlackSender
from storage.models import Delivery
from tests.e2e.lifecycle_helpers import SECOND, at, dms, grant_session, tick, wait_for
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.e2e.helpers import button_urls
from tests.e2e.test_signin_link import signs_in
from tests.fixtures_bot import APPROVER, APPROVER_2, CHANNEL, OUTSIDER, REQUESTER, Bot


def deliveries(bot: Bot) -> list[Delivery]:
    with bot.db.begin() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def posts_with(bot: Bot, needle: str) -> list:
    return [c for c in bot.slack.calls_to("chat.postMessage") if needle in json.dumps(c.args)]


def test_a_rate_limited_notice_waits_for_retry_after_then_lands_once(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    retries = bot.container.metrics.value("pam_delivery_retries_total", method="chat.postMessage")
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=2)
    click(bot, APPROVER, "pam_deny", ref)
    view = bot.slack.wait_for("views.open").args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    bot.driver.submit_view(APPROVER, view["callback_id"], {"reason": {"value": plain_text_value("not now")}},
                           private_metadata=view["private_metadata"])
    wait_status(bot, ref, "denied")
    wait_for(lambda: bool(dms(bot, REQUESTER, ref, "denied")), "the DM after the wait")
    posts = posts_with(bot, "denied")
    assert [p.http_status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 2.0  # Retry-After honoured
    assert bot.container.metrics.value("pam_delivery_retries_total", method="chat.postMessage") == retries + 1


def test_a_decisions_card_update_survives_slack_being_down_and_lands_the_latest_state(bot: Bot) -> None:
    bot.add_account(approvals_required=2)
    ref = ask(bot)
    bot.slack.fail_next("chat.update", status=503, times=2)  # both tries of the first update
    click(bot, APPROVER, "pam_approve", ref)
    wait_for(lambda: [c.http_status for c in bot.slack.calls_to("chat.update")] == [503, 503], "two failed tries")
    bot.settle_outbox()
    (row,) = [d for d in deliveries(bot) if d.kind == "update"]
    assert row.state == "queued" and row.due_at > bot.clock()  # waiting out its backoff
    click(bot, APPROVER_2, "pam_approve", ref)
    wait_status(bot, ref, "granted")
    wait_for(lambda: bool(dms(bot, REQUESTER, "Open AWS Console")), "the link DM")
    assert "Granted" not in json.dumps(bot.slack.message(CHANNEL, bot.requests()[-1].cards[0]["ts"]))
    at(bot, bot.clock() + timedelta(seconds=6))
    bot.settle_outbox()
    updates = bot.slack.calls_to("chat.update")
    assert [c.http_status for c in updates] == [503, 503, 200]  # the newer state took the queued row's place
    assert "Granted" in json.dumps(updates[-1].args) and "Granted" in json.dumps(bot.card())


def test_a_refusal_is_final_audited_and_not_retried(bot: Bot) -> None:
    bot.add_account()
    bot.container.outbox.queue("post", "CGONE0001", {"text": "to a channel that is gone"})
    bot.settle_outbox()
    assert len(posts_with(bot, "to a channel that is gone")) == 1
    (row,) = deliveries(bot)
    assert (row.state, row.error_code) == ("failed", "channel_not_found")
    (event,) = bot.audit("slack.delivery")
    assert (event.outcome, event.details["code"]) == ("failed", "channel_not_found")
    at(bot, bot.clock() + timedelta(hours=1))
    bot.settle_outbox()
    assert len(posts_with(bot, "to a channel that is gone")) == 1


def test_a_refused_message_is_reported_once_to_the_person_named(bot: Bot) -> None:
    bot.container.outbox.queue("post", "CGONE0002", {"text": "escalation"}, report_to=APPROVER)
    bot.settle_outbox()
    (report,) = dms(bot, APPROVER, "could not deliver a message to <#CGONE0002>")
    assert "does not exist" in json.dumps(report.args)
    assert len(posts_with(bot, "escalation")) == 1


def test_a_crash_between_the_post_and_its_record_does_not_post_twice(bot: Bot) -> None:
    bot.container.deliverer.stop()
    bot.container.outbox.queue("dm", REQUESTER, {"text": "exactly once, please"})

    def crash(job: Job) -> None:
        raise RuntimeError("the worker died after Slack took the post")

    sender = SlackSender(bot.container.deliverer.sender.client)  # type: ignore[attr-defined]
    render = bot.container.services.sweeps.render_notice
    with pytest.raises(RuntimeError):
        Deliverer(bot.container.outbox, sender, render=render, after_send=crash).run_once()
    (row,) = deliveries(bot)
    assert row.state == "queued" and row.sending_since is not None
    at(bot, bot.clock() + LEASE + SECOND)  # its lease runs out: another worker claims it
    assert Deliverer(bot.container.outbox, sender, render=render).drain() == 1
    assert len(posts_with(bot, "exactly once, please")) == 1
    (lookup,) = bot.slack.calls_to("conversations.history")
    assert lookup.args["include_all_metadata"] in (True, "true", "1")
    (row,) = deliveries(bot)
    (post,) = dms(bot, REQUESTER, "exactly once, please")
    assert row.state == "done" and row.result == {"channel": post.response["channel"], "ts": post.response["ts"]}


def test_a_post_that_timed_out_but_landed_is_found_not_posted_again(bot: Bot) -> None:
    bot.container.deliverer.sender.client.timeout = 1  # type: ignore[attr-defined]
    # Slack takes it, but answers after the client gave up (and before the outbox looks again, 1 s after that)
    bot.slack.delay_next("chat.postMessage", 1.5)
    bot.container.outbox.queue("dm", REQUESTER, {"text": "late but landed"})
    wait_for(lambda: bool(bot.slack.calls_to("conversations.history")), "the look for the late post")
    bot.settle_outbox()
    assert len(posts_with(bot, "late but landed")) == 1
    assert deliveries(bot)[0].state == "done"


def test_a_server_error_is_retried_after_a_second(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", status=500)
    bot.container.outbox.queue("dm", REQUESTER, {"text": "after a 500"})
    wait_for(lambda: bool(dms(bot, REQUESTER, "after a 500")), "the retried DM")
    posts = posts_with(bot, "after a 500")
    assert [p.http_status for p in posts] == [500, 200] and posts[1].at - posts[0].at >= 1.0


def test_the_tick_makes_no_slack_call_and_the_outbox_sends_its_notices(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    bot.container.deliverer.stop()
    at(bot, session.expires_at + SECOND)
    calls = len(bot.slack.calls)
    assert bot.container.services.sweeps.tick().ended == 1
    assert len(bot.slack.calls) == calls  # the tick only changed rows and queued
    (queued,) = [d for d in deliveries(bot) if d.state == "queued"]  # one small row: which notice, which row
    assert queued.kind == "notice" and queued.payload["notice"] == "session.ended"
    assert bot.sessions()[0].status == "ended" and not bot.audit("session.ended")  # audited once rendered
    bot.container.deliverer.start()
    wait_for(lambda: bool(dms(bot, REQUESTER, session.ref, "has ended")), "the end notice")
    assert "ended" in json.dumps(bot.card())  # the card's update went out too
    assert [e.target for e in bot.audit("session.ended")] == [session.ref]
    assert tick(bot).ended == 0


def test_a_link_dm_that_cannot_land_offers_a_new_link_that_works_for_the_remaining_time(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")  # the link DM, refused
    click(bot, APPROVER, "pam_approve", ref)
    wait_status(bot, ref, "granted")
    (session,) = bot.sessions()
    offer = bot.slack.wait_for("chat.postMessage", lambda c: c.ok and "Get a new link" in json.dumps(c.args),
                               timeout=15)
    assert offer.response["channel"] == f"D{REQUESTER}" and "federation" not in json.dumps(offer.args)
    assert offer.args["channel"] == REQUESTER and not bot.slack.calls_to("conversations.open")  # a DM: one call
    assert not dms(bot, REQUESTER, "Open AWS Console")
    assert "federation" not in json.dumps([d.payload for d in deliveries(bot)])  # the link is never stored
    at(bot, bot.clock() + timedelta(minutes=10))
    assert bot.driver.click(OUTSIDER, "pam_new_link", session.ref, channel_id=offer.response["channel"],
                            message_ts=offer.response["ts"]).status == 200
    bot.settle()
    assert bot.audit("session.relink")[-1].outcome == "refused"
    hops = len(bot.aws.sandbox.assume_role_calls())
    assert bot.driver.click(REQUESTER, "pam_new_link", session.ref, channel_id=offer.response["channel"],
                            message_ts=offer.response["ts"]).status == 200
    wait_for(lambda: bool(dms(bot, REQUESTER, "Open AWS Console")), "the new link")
    target_hop = bot.aws.sandbox.assume_role_calls()[hops:][-1].params
    assert target_hop["RoleSessionName"] == session.role_session_name  # the same session, as CloudTrail sees it
    remaining = (session.expires_at - bot.clock()).total_seconds()
    assert int(target_hop["DurationSeconds"]) == int(remaining)
    (link,) = button_urls(dms(bot, REQUESTER, "Open AWS Console")[0].args)
    assert signs_in(bot.aws.federation, link)
    (relinked,) = wait_for(lambda: bot.audit("session.relinked"), "the relink's audit event (written after the DM)")
    assert len(bot.sessions()) == 1 and relinked.actor == REQUESTER


def test_settled_rows_are_deleted_a_week_after_they_settled_and_queued_ones_never(bot: Bot) -> None:
    bot.add_account()
    grant_session(bot)
    bot.settle()
    settled = {d.id for d in deliveries(bot) if d.state != "queued"}
    assert settled
    bot.container.deliverer.stop()
    bot.container.outbox.queue("dm", REQUESTER, {"text": "still waiting"})  # Slack has not taken it yet
    sweeps = bot.container.services.sweeps
    at(bot, bot.clock() + timedelta(days=6))
    assert sweeps.tick().outbox_pruned == 0  # settled less than a week ago: kept
    at(bot, bot.clock() + timedelta(days=1, minutes=1))
    assert sweeps.tick().outbox_pruned == len(settled)
    left = deliveries(bot)
    assert not settled & {d.id for d in left} and all(d.state == "queued" for d in left)
    assert [d.payload for d in left if d.kind == "dm"] == [{"text": "still waiting"}]
