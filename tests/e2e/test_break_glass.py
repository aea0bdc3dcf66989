"""Break-glass over HTTP: access at once where an account allows it, loud (red card, DMs, audit), limited per
person, reviewed afterwards by an approver — and a flag revokes the session."""

from __future__ import annotations

import json
from datetime import timedelta

from sandbox.slack_payloads import checkboxes, plain_text_value, static_select
from tests.e2e.helpers import button_urls, has_buttons, wait_dm, wait_ephemeral, wait_for
from tests.e2e.lifecycle_helpers import tick
from tests.e2e.test_admin import mark, wait_after
from tests.fixtures_bot import ADMIN, APPROVER, APPROVER_2, CHANNEL, OUTSIDER, REQUESTER, Bot

TAKE = "break-glass prod-aws readonly 15m INC-9 the database is down"


def take(bot: Bot, text: str = TAKE, user: str = REQUESTER) -> str:
    """Run `/pam break-glass`, wait for the link DM and return the request's ref."""
    before = {r.ref for r in bot.requests()}
    assert bot.driver.command(user, text).status == 200
    wait_for(lambda: {r.ref for r in bot.requests()} - before != set(), "the break-glass request")
    (ref,) = {r.ref for r in bot.requests()} - before
    wait_ephemeral(bot.slack, f"Break-glass {ref}: check your DMs")  # the last word of the command's work
    bot.settle_outbox()  # the red card and its update go out through the outbox
    return ref


def card(bot: Bot) -> dict:
    return next(m for m in reversed(bot.slack.messages(CHANNEL)) if "Break-glass" in json.dumps(m))


def click(bot: Bot, user: str, action: str, ref: str) -> None:
    message = card(bot)
    assert bot.driver.click(user, action, ref, channel_id=CHANNEL, message_ts=message["ts"]).status == 200


def test_break_glass_grants_at_once_and_everyone_who_should_know_is_told(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    ref = take(bot)
    (request,) = bot.requests()
    assert (request.status, request.break_glass, request.auto_approved) == ("granted", True, False)
    wait_ephemeral(bot.slack, "Break-glass " + ref)
    link = button_urls(wait_dm(bot.slack, REQUESTER, "Open AWS Console"))[0]

    red = card(bot)
    assert "Break-glass access" in json.dumps(red) and "the database is down" in json.dumps(red)
    assert has_buttons(red) and "pam_break_glass_flag" in json.dumps(red)
    for person in (APPROVER, APPROVER_2, ADMIN):
        wait_dm(bot.slack, person, "used *break-glass*")
    assert link not in json.dumps([c.args for c in bot.slack.calls if c.args.get("channel") not in (f"D{REQUESTER}", REQUESTER)])

    (event,) = bot.audit("request.break_glass")
    assert event.outcome == "ok" and event.details["break_glass"] is True and event.details["reason"]


def test_an_approver_reviews_it_and_the_requester_cannot(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    ref = take(bot)
    click(bot, REQUESTER, "pam_break_glass_reviewed", ref)
    wait_ephemeral(bot.slack, "your own request")
    assert bot.requests()[-1].review is None
    click(bot, OUTSIDER, "pam_break_glass_reviewed", ref)
    wait_ephemeral(bot.slack, "not an approver")

    click(bot, APPROVER, "pam_break_glass_reviewed", ref)
    wait_ephemeral(bot.slack, "marked as reviewed")
    request = bot.requests()[-1]
    assert (request.review, request.reviewed_by) == ("reviewed", APPROVER)
    wait_for(lambda: not has_buttons(card(bot)), "the card without review buttons")
    assert bot.sessions()[-1].status == "active"
    assert bot.audit("request.break_glass_review")[-1].actor == APPROVER


def test_a_flag_revokes_the_session_at_once(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    ref = take(bot)
    click(bot, APPROVER_2, "pam_break_glass_flag", ref)  # an approver, not an admin
    wait_dm(bot.slack, REQUESTER, "was flagged")
    assert bot.sessions()[-1].status in ("revoked", "revoking")
    assert bot.requests()[-1].review == "flagged"
    assert "Flagged by" in json.dumps(card(bot))
    assert bot.audit("session.revoke")[-1].actor == APPROVER_2


def test_break_glass_is_refused_where_it_is_not_allowed_without_a_reason_and_past_the_limit(bot: Bot) -> None:
    bot.add_account(name="readonly", break_glass=False)
    bot.add_account(name="admin", break_glass=True, requester_ids=(REQUESTER,))

    seen = mark(bot)
    bot.driver.command(REQUESTER, "break-glass prod-aws readonly 15m INC-1")
    assert "has no break-glass" in json.dumps(wait_after(bot, seen, "response_url").args)
    assert bot.audit("request.break_glass")[-1].details["code"] == "break_glass_off"

    seen = mark(bot)
    bot.driver.command(REQUESTER, "break-glass prod-aws admin 15m")
    assert "needs a reason" in json.dumps(wait_after(bot, seen, "response_url").args)

    seen = mark(bot)
    bot.driver.command(OUTSIDER, "break-glass prod-aws admin 15m INC-2")
    assert "You may not request" in json.dumps(wait_after(bot, seen, "response_url").args)

    take(bot, "break-glass prod-aws admin 15m INC-3")
    take(bot, "break-glass prod-aws admin 15m INC-4")
    seen = mark(bot)
    bot.driver.command(REQUESTER, "break-glass prod-aws admin 15m INC-5")
    assert "the most allowed" in json.dumps(wait_after(bot, seen, "response_url").args)
    assert len([r for r in bot.requests() if r.break_glass]) == 2
    assert bot.audit("request.break_glass")[-1].details["code"] == "break_glass_limit"


def test_break_glass_replaces_a_pending_request_for_the_same_account(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m nobody answers")
    wait_ephemeral(bot.slack, "is waiting for approval")
    pending = bot.requests()[-1].ref
    take(bot)
    statuses = {r.ref: (r.status, r.failure_code) for r in bot.requests()}
    assert statuses[pending] == ("cancelled", "superseded")
    assert bot.audit("request.break_glass")[-1].details["superseded"] == pending


def test_an_unreviewed_break_glass_is_brought_up_again_until_reviewed(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    ref = take(bot)
    ts = card(bot)["ts"]

    def reminders() -> int:
        return len([c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts
                    and "waiting for a review" in json.dumps(c.args)])

    assert tick(bot).break_glass_reminded == 0  # not yet due
    bot.clock.advance(timedelta(minutes=31))
    assert tick(bot).break_glass_reminded == 1 and reminders() == 1
    assert tick(bot).break_glass_reminded == 0  # once per half hour
    bot.clock.advance(timedelta(minutes=31))
    assert tick(bot).break_glass_reminded == 1 and reminders() == 2
    click(bot, APPROVER, "pam_break_glass_reviewed", ref)
    wait_ephemeral(bot.slack, "marked as reviewed")
    bot.clock.advance(timedelta(minutes=31))
    assert tick(bot).break_glass_reminded == 0


def test_doctor_lists_accounts_with_break_glass(bot: Bot) -> None:
    bot.add_account(name="readonly")
    bot.add_account(name="admin", break_glass=True)
    report = bot.container.services.setup.doctor(actor=ADMIN)
    flagged = [c for c in report.checks if c.warning and "Break-glass is on" in c.detail]
    assert [c.subject for c in flagged] == ["account prod-aws/admin"] and report.ok


def test_the_request_modal_offers_break_glass_where_an_account_allows_it(bot: Bot) -> None:
    bot.add_account(break_glass=True)
    seen = mark(bot)
    assert bot.driver.click(REQUESTER, "pam_open_request", "", view={"id": "VHOME", "type": "home"}).status == 200
    modal = wait_after(bot, seen, "views.open").args["view"]
    assert "Break-glass: access now" in json.dumps(modal) and "prod-aws/readonly" in json.dumps(modal)
    values = {"account": {"value": static_select("prod-aws/readonly")}, "duration": {"value": plain_text_value("15m")},
              "urgency": {"value": checkboxes(["break_glass"])}}
    refused = bot.driver.submit_view(REQUESTER, "pam_request_modal", {**values, "reason": {
        "value": plain_text_value("\u200b")}})
    assert refused.json is not None and "needs a reason" in refused.json["errors"]["reason"]
    assert not bot.requests()
    taken = bot.driver.submit_view(REQUESTER, "pam_request_modal", {**values, "reason": {
        "value": plain_text_value("INC-11 payments down")}})
    assert taken.status == 200
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    assert [(r.break_glass, r.status) for r in bot.requests()] == [(True, "granted")]
