"""App Home over real HTTP: what each person sees, requests and decisions from it, and Slack's limits at scale."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sandbox.slack_calls import RecordedCall
from sandbox.slack_payloads import plain_text_value, static_select
from storage.models import AccessRequest, AccessSession, Account
from tests.e2e.helpers import wait_dm, wait_ephemeral, wait_for
from tests.e2e.test_admin import mark, wait_after
from tests.fixtures_bot import ADMIN, APPROVER, CHANNEL, GROUP_MEMBER, REQUESTER, Bot


def open_home(bot: Bot, user: str) -> RecordedCall:
    seen = mark(bot)
    assert bot.driver.app_home_opened(user).status == 200
    call = wait_after(bot, seen, "views.publish", needle=f'"user_id": "{user}"', timeout=20)
    return call


def home_text(call: RecordedCall) -> str:
    return json.dumps(call.args["view"], ensure_ascii=False)


def test_home_for_someone_with_nothing_yet(bot: Bot) -> None:
    call = open_home(bot, REQUESTER)
    assert call.ok, call.response
    text = home_text(call)
    assert "No active sessions" in text and "No requests waiting" in text and "pam_open_request" in text
    assert "Open admin" not in text and "Waiting for your decision" not in text
    admin = open_home(bot, ADMIN)
    assert admin.ok and "Open admin" in home_text(admin) and "Nothing is set up yet" in home_text(admin)
    seen = mark(bot)
    bot.driver.click(ADMIN, "pam_open_admin", "", view=admin.response["view"])
    opened = wait_after(bot, seen, "views.open")
    assert opened.ok and opened.args["view"]["callback_id"] == "pam_admin_modal"
    bot.driver.click(REQUESTER, "pam_open_admin", "", view=call.response["view"])  # a forged click
    wait_dm(bot.slack, REQUESTER, "Only pam-bot admins")
    assert len(bot.slack.calls_to("views.open")) == 1


def test_request_from_home_is_the_same_as_the_slash_command(bot: Bot) -> None:
    bot.add_account()
    home = open_home(bot, REQUESTER).response["view"]
    seen = mark(bot)
    assert bot.driver.click(REQUESTER, "pam_open_request", "", view=home).status == 200
    modal = wait_after(bot, seen, "views.open").response["view"]
    assert bot.driver.submit_view(REQUESTER, modal["callback_id"], {
        "account": {"value": static_select("prod-aws/readonly")}, "duration": {"value": plain_text_value("30m")},
        "reason": {"value": plain_text_value("INC-42")}}, view_id=modal["id"]).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    bot.driver.command(GROUP_MEMBER, "access prod-aws readonly 30m INC-42")
    wait_ephemeral(bot.slack, "is waiting for approval")
    bot.settle()  # both cards landed and were recorded

    from_home, from_command = bot.requests()
    fields = ("resource_name", "account_name", "resource_role_arn", "target_role_arn", "duration_seconds",
              "reason", "status", "approvals_required", "auto_approved", "account_id")
    assert [getattr(from_home, f) for f in fields] == [getattr(from_command, f) for f in fields]
    assert (from_home.requester_id, from_command.requester_id) == (REQUESTER, GROUP_MEMBER)
    assert [c["channel"] for c in from_home.cards] == [c["channel"] for c in from_command.cards] == [CHANNEL]

    mine = open_home(bot, REQUESTER)
    assert from_home.ref in home_text(mine) and "pam_cancel" in home_text(mine)
    seen = mark(bot)
    bot.driver.click(REQUESTER, "pam_cancel", from_home.ref, view=mine.response["view"])
    # A publish from before the click (the submission's refresh, the Home opening) may still land after `seen`:
    # wait for the one the cancel made, which no longer lists the request.
    republished = bot.slack.wait_for("views.publish", lambda c: id(c) not in seen
                                     and c.args.get("user_id") == REQUESTER and from_home.ref not in home_text(c))
    assert republished.ok
    assert bot.requests()[0].status == "cancelled"


def test_a_view_read_before_a_cancel_never_lands_after_it(bot: Bot) -> None:
    bot.add_account()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-7")
    wait_ephemeral(bot.slack, "is waiting for approval")
    ref = bot.requests()[-1].ref
    mine = open_home(bot, REQUESTER)
    seen = mark(bot)
    bot.slack.delay_next("views.publish", 1.5)  # Slack is slow to take the next Home...
    assert bot.driver.app_home_opened(REQUESTER).status == 200  # ...which is read now, with the request
    time.sleep(0.3)
    bot.driver.click(REQUESTER, "pam_cancel", ref, view=mine.response["view"])  # and cancelled meanwhile
    wait_for(lambda: len([c for c in bot.slack.calls_to("views.publish") if id(c) not in seen]) >= 2,
             "the two Home publishes to reach Slack")  # both have landed
    assert ref not in json.dumps(bot.slack.published_views[REQUESTER])  # what the person sees now


def test_approver_decides_from_home(bot: Bot) -> None:
    bot.add_account()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-9")
    wait_ephemeral(bot.slack, "is waiting for approval")
    ref = bot.requests()[-1].ref
    assert "Waiting for your decision" not in home_text(open_home(bot, GROUP_MEMBER))
    home = open_home(bot, APPROVER)
    assert "Waiting for your decision* (1)" in home_text(home) and f"decide:{ref}" in home_text(home)
    seen = mark(bot)
    assert bot.driver.click(APPROVER, "pam_approve", ref, view=home.response["view"]).status == 200
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    refreshed = wait_after(bot, seen, "views.publish", needle=f'"user_id": "{APPROVER}"')
    assert "Waiting for your decision" not in home_text(refreshed)  # the Home tab refreshed itself
    assert "Waiting for your decision" not in home_text(open_home(bot, APPROVER))
    sessions = open_home(bot, REQUESTER)
    assert "Your active sessions* (1)" in home_text(sessions) and "<!date^" in home_text(sessions)


def crowd(bot: Bot, count: int) -> None:
    """`count` active sessions and `count` pending requests (one open request per account, so `count` copies of
    the account) for the requester, straight into the database."""
    bot.add_account()
    (resource, account), = bot.container.services.admin.accounts()
    now = bot.clock()
    common: dict[str, Any] = dict(
        requester_id=REQUESTER, team_id="T0PAM", account_id=account.id, resource_name=resource.name,
        account_name=account.name, resource_role_arn=resource.role_arn, target_role_arn=account.role_arn,
        duration_seconds=1800, approvals_required=2, created_at=now, updated_at=now, cards=[])
    names = Account.__table__.columns.keys()  # the names, not the Column objects
    copied = {column: getattr(account, column) for column in names if column != "id"}
    with bot.db.begin() as session:
        for i in range(count):
            granted = AccessRequest(ref=f"R-G{i:05d}", status="granted", reason="x", **common)
            session.add(granted)
            twin = Account(**{**copied, "name": f"ro{i}"})
            session.add(twin)
            session.flush()
            session.add(AccessRequest(ref=f"R-P{i:05d}", status="pending", reason="<!channel> " + "y" * 3000,
                                      **{**common, "account_id": twin.id}))
            session.flush()
            session.add(AccessSession(
                ref=f"S-{i:06d}", request_id=granted.id, requester_id=REQUESTER, account_id=account.id,
                resource_name=resource.name, account_name=account.name, resource_role_arn=resource.role_arn,
                target_role_arn=account.role_arn, role_session_name="alice@example.com",
                assumed_role_arn=f"{account.role_arn}/alice", status="active", started_at=now,
                expires_at=now + timedelta(minutes=30 + i % 30)))


def test_home_fits_slacks_limits_with_200_sessions_and_200_requests(bot: Bot) -> None:
    crowd(bot, 200)
    for user in (REQUESTER, APPROVER, ADMIN):
        call = open_home(bot, user)
        assert call.ok, (user, call.response)  # the stand-in answers invalid_blocks past any limit
        blocks = call.args["view"]["blocks"]
        assert len(blocks) <= 100
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
        assert "<!channel>" not in home_text(call)
    requester = home_text(open_home(bot, REQUESTER))
    assert "Your active sessions* (200)" in requester and "Your pending requests* (200)" in requester
    assert requester.count("…and 190 more") == 2
    approver = home_text(open_home(bot, APPROVER))
    assert "Waiting for your decision* (200)" in approver and "…and 190 more" in approver
