"""Every time-driven notice fires once, at its moment: not before, once after, never again."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from sandbox.slack_calls import RecordedCall
from storage.models import AccessRequest
from tests.e2e.helpers import blocks_of, button_urls
from tests.e2e.lifecycle_helpers import SECOND, approve, ask, at, card_text, dms, grant_session, \
    request_row, session_row, thread_replies, tick, wait_for
from tests.fixtures_bot import CHANNEL, REQUESTER, Bot

WARNING = timedelta(minutes=5)  # PAM_EXPIRY_WARNING's default


def warnings(bot: Bot, ref: str) -> list[RecordedCall]:
    return dms(bot, REQUESTER, f"session {ref} ends")


def test_warning_fires_once_five_minutes_before_the_end(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    at(bot, session.expires_at - WARNING - SECOND)
    assert tick(bot).warned == 0
    assert not warnings(bot, session.ref)

    at(bot, session.expires_at - WARNING + SECOND)
    assert tick(bot).warned == 1
    (warning,) = warnings(bot, session.ref)
    assert "<!date^" in json.dumps(warning.args)
    assert tick(bot).warned == 0
    at(bot, session.expires_at - SECOND)
    assert tick(bot).warned == 0
    assert len(warnings(bot, session.ref)) == 1
    assert session_row(bot, session.ref).warned_at is not None
    assert [e.target for e in bot.audit("session.warned")] == [session.ref]


def test_request_again_opens_the_request_modal_prefilled(bot: Bot) -> None:
    bot.add_account()
    bot.add_account(name="admin")
    session = grant_session(bot)
    at(bot, session.expires_at - WARNING + SECOND)
    tick(bot)
    (warning,) = warnings(bot, session.ref)
    (button,) = [e for b in blocks_of(warning.args) if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "pam_request_again" and button["text"]["text"] == "Request again"
    response = bot.driver.click(REQUESTER, button["action_id"], button["value"], channel_id=f"D{REQUESTER}",
                                message_ts=warning.response["ts"])
    assert response.status == 200
    opened = bot.slack.wait_for("views.open", lambda c: c.ok)
    view = opened.args["view"]
    (account,) = [b for b in view["blocks"] if b.get("block_id") == "account"]
    assert account["element"]["initial_option"]["value"] == "prod-aws/readonly"


def test_end_notice_fires_once_and_the_card_says_ended(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    request = next(r for r in bot.requests() if r.id == session.request_id)
    at(bot, session.expires_at - SECOND)
    assert tick(bot).ended == 0
    assert session_row(bot, session.ref).status == "active"
    assert "Session ended" not in card_text(bot, request.ref)

    at(bot, session.expires_at + SECOND)
    assert tick(bot).ended == 1
    (ended,) = dms(bot, REQUESTER, session.ref, "has ended")
    row = session_row(bot, session.ref)
    assert row.status == "ended" and row.ended_at == session.expires_at + SECOND
    assert "Session ended" in card_text(bot, request.ref)
    assert tick(bot).ended == 0
    at(bot, session.expires_at + timedelta(hours=2))
    assert tick(bot).ended == 0
    assert len(dms(bot, REQUESTER, session.ref, "has ended")) == 1
    assert [e.target for e in bot.audit("session.ended")] == [session.ref]


def test_a_session_first_seen_after_its_end_gets_no_late_warning(bot: Bot) -> None:
    bot.add_account()
    session = grant_session(bot)
    at(bot, session.expires_at + SECOND)
    report = tick(bot)
    assert (report.ended, report.warned) == (1, 0)
    assert not warnings(bot, session.ref)


def test_reminder_then_expiry_of_a_pending_request(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(PAM_REQUEST_TIMEOUT="10m")
    bot.add_account()
    request = ask(bot)
    created = request.created_at

    at(bot, created + timedelta(minutes=5) - SECOND)
    assert tick(bot).reminded == 0
    at(bot, created + timedelta(minutes=5) + SECOND)
    assert tick(bot).reminded == 1
    (reminder,) = thread_replies(bot, "still waiting for a decision")
    assert reminder.args["thread_ts"] == request_row(bot, request.ref).cards[0]["ts"]
    assert tick(bot).reminded == 0

    at(bot, created + timedelta(minutes=10) - SECOND)
    report = tick(bot)
    assert report.expired == 0 and report.reminded == 0
    assert request_row(bot, request.ref).status == "pending"
    at(bot, created + timedelta(minutes=10) + SECOND)
    assert tick(bot).expired == 1
    assert request_row(bot, request.ref).status == "expired"
    assert "Expired" in card_text(bot, request.ref) and "pam_approve" not in card_text(bot, request.ref)
    assert len(dms(bot, REQUESTER, request.ref, "expired")) == 1
    assert tick(bot).expired == 0
    assert len(dms(bot, REQUESTER, request.ref, "expired")) == 1
    assert len(thread_replies(bot, "still waiting for a decision")) == 1
    # An approver clicking the stale card is told, and nothing is granted.
    approve(bot, request.ref)
    wait_for(lambda: any(e.outcome == "refused" for e in bot.audit("request.approve")), "the refusal")
    assert not bot.sessions()


def simulate_crash_after_approval(bot: Bot, ref: str, attempts: int) -> None:
    """What a crash between the approval and the grant leaves behind: approved, no session."""
    with bot.db.begin() as session:
        session.execute(update(AccessRequest).where(AccessRequest.ref == ref).values(
            status="approved", decided_at=bot.clock(), updated_at=bot.clock(), grant_attempts=attempts))


def test_a_grant_interrupted_once_is_retried_once(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    simulate_crash_after_approval(bot, request.ref, attempts=1)
    start = bot.clock()
    at(bot, start + timedelta(minutes=2) - SECOND)
    assert tick(bot).recovered == 0 and not bot.sessions()
    at(bot, start + timedelta(minutes=2) + SECOND)
    assert tick(bot).recovered == 1
    assert request_row(bot, request.ref).status == "granted"
    (session,) = bot.sessions()
    (link,) = dms(bot, REQUESTER, "Open AWS Console")
    assert button_urls(link.args)[0].startswith(bot.aws.federation.url)
    at(bot, start + timedelta(minutes=10))
    assert tick(bot).recovered == 0
    assert len(bot.sessions()) == 1 and len(dms(bot, REQUESTER, "Open AWS Console")) == 1
    assert [e.target for e in bot.audit("session.grant_retry")] == [request.ref]


def test_a_grant_interrupted_twice_fails_and_everyone_is_told(bot: Bot) -> None:
    bot.add_account()
    request = ask(bot)
    simulate_crash_after_approval(bot, request.ref, attempts=2)
    start = bot.clock()
    at(bot, start + timedelta(minutes=2) - SECOND)
    assert tick(bot).recovered == 0
    at(bot, start + timedelta(minutes=2) + SECOND)
    assert tick(bot).recovered == 1
    row = request_row(bot, request.ref)
    assert row.status == "failed" and row.failure_code == "grant_interrupted"
    assert len(dms(bot, REQUESTER, request.ref, "could not be created")) == 1
    (notice,) = thread_replies(bot, "no console session came of it")
    assert notice.args["channel"] == CHANNEL and f"<@{REQUESTER}>" in json.dumps(notice.args)
    assert "Failed" in card_text(bot, request.ref)
    assert tick(bot).recovered == 0
    assert len(thread_replies(bot, "no console session came of it")) == 1
    assert not bot.sessions()
    failed = [e for e in bot.audit("session.grant") if e.target == request.ref]
    assert [(e.outcome, e.details["code"]) for e in failed] == [("failed", "grant_interrupted")]
