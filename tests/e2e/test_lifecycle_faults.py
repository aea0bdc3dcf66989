"""Notices survive Slack failures and restarts: the tick queues them, the outbox retries; the scheduler ticks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta

from bot.clock import ManualClock
from bot.runtime.scheduler import Scheduler
from bot.services.sweeps import TickReport
from tests.e2e.lifecycle_helpers import SECOND, ask, at, dms, grant_session, request_row, second_container, \
    session_row, settle_outbox, tick, wait_for
from tests.fixtures_bot import REQUESTER, Bot

WARNING = timedelta(minutes=5)


def test_a_warning_slack_refused_is_marked_audited_and_not_sent_again(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    at(bot, session.expires_at - WARNING + SECOND)
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")
    assert tick(bot).warned == 1  # the tick marks and queues; the outbox meets the refusal
    refused = [c for c in bot.slack.calls_to("chat.postMessage") if c.error == "channel_not_found"]
    assert len(refused) == 1 and session.ref in refused[0].args["text"]
    assert session_row(bot, session.ref).warned_at is not None
    assert tick(bot).warned == 0
    assert not dms(bot, REQUESTER, f"session {session.ref} ends")  # a refusal is final: not retried
    (event,) = bot.audit("slack.delivery")
    assert (event.outcome, event.details["code"], event.details["kind"]) == ("failed", "channel_not_found", "dm")


def test_an_end_notice_lost_to_server_errors_goes_out_later_once(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    at(bot, session.expires_at + SECOND)
    before = len(bot.slack.calls_to("chat.postMessage"))
    bot.slack.fail_next("chat.postMessage", status=500, times=2)
    assert tick(bot).ended == 1  # the tick only marks and queues
    assert session_row(bot, session.ref).status == "ended"
    posts = bot.slack.calls_to("chat.postMessage")[before:]
    assert [c.http_status for c in posts] == [500, 500] and posts[1].at - posts[0].at >= 1.0
    assert not dms(bot, REQUESTER, session.ref, "has ended")  # waiting out its backoff (5 s) in the queue
    at(bot, bot.clock() + timedelta(seconds=6))
    wait_for(lambda: bool(dms(bot, REQUESTER, session.ref, "has ended")), "the end notice")
    assert tick(bot).ended == 0
    assert [c.http_status for c in bot.slack.calls_to("chat.postMessage")[before:]] == [500, 500, 200]
    assert len(dms(bot, REQUESTER, session.ref, "has ended")) == 1


def test_an_expiry_notice_refused_still_expires_the_request(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_REQUEST_TIMEOUT="10m")
    bot.add_account()
    request = ask(bot)
    at(bot, request.created_at + timedelta(minutes=10) + SECOND)
    bot.slack.fail_next("chat.postMessage", error="user_not_found")  # the expiry DM (the card's is chat.update)
    assert tick(bot).expired == 1
    assert request_row(bot, request.ref).status == "expired"
    assert "Expired" in json.dumps(bot.card())  # the card update is its own row: it went out
    assert not dms(bot, REQUESTER, request.ref, "expired")
    assert [e.details["code"] for e in bot.audit("slack.delivery")] == ["user_not_found"]


def test_a_restart_before_delivery_loses_nothing(bot: Bot) -> None:
    bot.add_account()
    bot.add_account(name="admin")
    session = grant_session(bot)
    pending = ask(bot, "access prod-aws admin 30m deploy")
    bot.container.worker.stop()  # the outbox's threads too: what the tick queues waits in the database
    at(bot, session.expires_at - WARNING + SECOND)
    assert bot.container.services.sweeps.tick().warned == 1
    assert not dms(bot, REQUESTER, f"session {session.ref} ends")
    bot.container.close()

    clock = ManualClock(bot.clock())
    restarted = second_container(bot, clock)
    try:
        settle_outbox(restarted)
        assert len(dms(bot, REQUESTER, f"session {session.ref} ends")) == 1
        clock.set(session.expires_at + SECOND)
        assert tick(restarted) == TickReport(ended=1, reminded=1)
        clock.set(pending.created_at + timedelta(hours=1) + SECOND)
        assert tick(restarted).expired == 1
        assert tick(restarted) == TickReport()
    finally:
        restarted.close()
    assert len(dms(bot, REQUESTER, f"session {session.ref} ends")) == 1
    assert len(dms(bot, REQUESTER, session.ref, "has ended")) == 1
    assert len(dms(bot, REQUESTER, pending.ref, "expired")) == 1
    assert request_row(bot, pending.ref).status == "expired"


def test_the_scheduler_ticks_at_start_and_every_interval_until_stopped(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    at(bot, session.expires_at + SECOND)
    reports: list[TickReport] = []
    ticked = threading.Event()

    def seen(report: TickReport, elapsed: float) -> None:
        reports.append(report)
        if len(reports) >= 2:
            ticked.set()

    scheduler = Scheduler(bot.container.services.sweeps, tick_seconds=1, on_tick=seen).start()
    try:
        assert scheduler.running
        assert ticked.wait(5), "the scheduler did not tick twice"
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert reports[0].ended == 1 and all(r.ended == 0 for r in reports[1:])
    assert session_row(bot, session.ref).status == "ended"
    count = len(reports)
    threading.Event().wait(1.2)
    assert len(reports) == count  # nothing runs after stop()
