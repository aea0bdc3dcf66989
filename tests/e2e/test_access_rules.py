"""Who may ask and who may decide, auto-approval, and the answers people get when they cannot."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from storage.models import Account
from tests.e2e.helpers import button_urls, has_buttons, wait_dm, wait_ephemeral
from tests.e2e.test_access_flow import ask, click, wait_status
from tests.fixtures_bot import ADMIN, APPROVER, BOT_USER, CHANNEL, DELETED, GROUP, GROUP_MEMBER, GUEST, \
    OUTSIDER, REQUESTER, Bot


@pytest.mark.parametrize("user, needle", [(GUEST, "guest"), (BOT_USER, "bot"), (DELETED, "deactivated")])
def test_guests_bots_and_deleted_users_cannot_request(bot: Bot, user: str, needle: str) -> None:
    bot.add_account()
    bot.driver.command(user, "access prod-aws readonly 30m")
    text = wait_ephemeral(bot.slack, "request AWS access")
    assert needle in text.lower()
    assert not bot.requests()
    assert bot.audit("request.create")[-1].outcome == "refused"


def test_guest_named_as_approver_still_cannot_approve(bot: Bot) -> None:
    bot.add_account(approver_ids=(GUEST, APPROVER))
    ref = ask(bot)
    click(bot, GUEST, "pam_approve", ref)
    wait_ephemeral(bot.slack, "approve or deny")
    assert bot.requests()[-1].status == "pending"


def test_user_group_members_approve_at_click_time(bot: Bot) -> None:
    bot.add_account(approver_ids=(), approver_group=GROUP)
    ref = ask(bot)
    bot.slack.add_usergroup(GROUP, [OUTSIDER])  # membership changed after the card was posted
    click(bot, GROUP_MEMBER, "pam_approve", ref)
    wait_ephemeral(bot.slack, "not an approver")
    click(bot, OUTSIDER, "pam_approve", ref)
    wait_status(bot, ref, "granted")


def test_without_named_approvers_the_admins_decide(bot: Bot) -> None:
    bot.add_account(approver_ids=())
    ref = ask(bot)
    click(bot, APPROVER, "pam_approve", ref)
    wait_ephemeral(bot.slack, "not an approver")
    click(bot, ADMIN, "pam_approve", ref)
    wait_status(bot, ref, "granted")


def test_auto_approve_grants_at_once_and_announces_without_the_link(bot: Bot) -> None:
    bot.add_account(auto_approve=True, auto_approve_daily_limit=1)
    bot.driver.command(REQUESTER, "access prod-aws readonly 15m quick look")
    dm = wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    (link,) = button_urls(dm)
    wait_status(bot, bot.requests()[-1].ref, "granted")
    announcement = bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    assert "Auto-approved" in json.dumps(announcement.args)
    assert link not in bot.everything_slack_saw().replace(json.dumps(dm)[1:-1], "")
    assert not has_buttons(bot.card())

    bot.container.services.sessions.revoke(actor=REQUESTER, ref=bot.sessions()[-1].ref)
    bot.driver.command(REQUESTER, "access prod-aws readonly 15m again")
    wait_ephemeral(bot.slack, "is waiting for approval")  # over the daily limit: approval needed again
    assert bot.requests()[-1].status == "pending"


def test_help_and_unknown_subcommands(bot: Bot) -> None:
    bot.driver.command(REQUESTER, "")
    wait_ephemeral(bot.slack, "How to use /pam")
    bot.driver.command(REQUESTER, "frobnicate")
    wait_ephemeral(bot.slack, "/pam help")


def test_unknown_button_is_acknowledged_refused_and_audited(bot: Bot) -> None:
    bot.add_account()
    ask(bot)
    response = bot.driver.click(OUTSIDER, "pam_self_destruct", "x", channel_id=CHANNEL,
                                message_ts=bot.card()["ts"])
    assert response.status == 200
    wait_ephemeral(bot.slack, "not one pam-bot knows")
    assert bot.audit("slack.unknown_action")[-1].outcome == "refused"


def test_forged_request_ref_is_refused(bot: Bot) -> None:
    bot.add_account()
    ask(bot)
    response = bot.driver.click(APPROVER, "pam_approve", "R-ZZZZZZ", channel_id=CHANNEL,
                                message_ts=bot.card()["ts"])
    assert response.status == 200
    wait_ephemeral(bot.slack, "There is no request")
    response = bot.driver.click(APPROVER, "pam_approve", "<script>", channel_id=CHANNEL,
                                message_ts=bot.card()["ts"])
    assert response.status == 200
    wait_ephemeral(bot.slack, "is not a request reference")
    assert bot.requests()[-1].status == "pending"


def test_approval_card_failure_is_reported_and_leaves_no_pending_request(bot: Bot) -> None:
    bot.add_account()
    with bot.db.begin() as session:  # the channel went away after the account was saved (saving checks it)
        session.execute(update(Account).values(approval_channel="CMISSING"))
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m")
    wait_ephemeral(bot.slack, "is waiting for approval")  # the outbox then meets the refusal
    text = json.dumps(wait_dm(bot.slack, REQUESTER, "could not be posted"))
    assert "does not exist" in text or "not in" in text
    assert bot.requests()[-1].status == "cancelled"


def test_healthz(bot: Bot) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read())["database"] == "up"


def test_without_a_channel_each_approver_gets_the_card_by_dm(bot: Bot) -> None:
    bot.add_account(approval_channel=None)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m")
    wait_ephemeral(bot.slack, "is waiting for approval")
    bot.settle()  # the cards go out through the outbox
    request = bot.requests()[-1]
    assert sorted(card["channel"] for card in request.cards) == [f"D{APPROVER}", "DUAPPROVER2"]
    bot.driver.click(APPROVER, "pam_approve", request.ref, channel_id=f"D{APPROVER}",
                     message_ts=request.cards[0]["ts"])
    wait_status(bot, request.ref, "granted")
    for card in request.cards:
        bot.slack.wait_for("chat.update", lambda c, ts=card["ts"]: c.args.get("ts") == ts
                           and "Granted" in json.dumps(c.args))


def test_default_approval_channel_is_used(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(PAM_APPROVAL_CHANNEL="CDEFAULT")
    bot.slack.add_channel("CDEFAULT")
    bot.add_account(approval_channel=None)
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m")
    wait_ephemeral(bot.slack, "is waiting for approval")
    bot.settle()
    assert bot.requests()[-1].cards[0]["channel"] == "CDEFAULT"


def test_removing_an_account_cancels_its_pending_requests(bot: Bot) -> None:
    bot.add_account()
    ref = ask(bot)
    bot.container.services.admin.remove_account(actor=ADMIN, resource="prod-aws", name="readonly")
    assert bot.requests()[-1].status == "cancelled"
    click(bot, ADMIN, "pam_approve", ref)
    wait_ephemeral(bot.slack, "already cancelled")
    assert not bot.sessions()
