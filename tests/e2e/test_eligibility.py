"""Who may ask for what: requester rules per account, over HTTP, refused asks audited, nothing else shown."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.e2e.test_access_flow import ask, wait_status
from tests.e2e.test_admin import mark, wait_after
from tests.fixtures_bot import ADMIN, APPROVER, CHANNEL, GROUP_MEMBER, OUTSIDER, REQUESTER, Bot

REQUESTERS = "SREQUESTERS"


def answer_to(bot: Bot, user: str, text: str) -> str:
    """The private answer to `/pam <text>` from `user`, as JSON text."""
    seen = mark(bot)
    response = bot.driver.command(user, text)
    assert response.status == 200
    return json.dumps(wait_after(bot, seen, "response_url").args)


def test_an_ineligible_ask_is_refused_with_who_can_help_and_audited(bot: Bot) -> None:
    bot.add_account(requester_ids=(REQUESTER,))
    text = answer_to(bot, OUTSIDER, "access prod-aws readonly 30m please")
    assert "You may not request `prod-aws/readonly`" in text and f"<@{APPROVER}>" in text
    assert not bot.requests()
    refused = bot.audit("request.create")[-1]
    assert (refused.actor, refused.outcome, refused.details["code"]) == (OUTSIDER, "refused", "not_a_requester")

    ask(bot)  # the named requester still asks as before
    assert bot.audit("request.create")[-1].details["eligible"] == "named_requester"


def test_auto_approve_applies_to_eligible_requesters_only(bot: Bot) -> None:
    bot.add_account(auto_approve=True, requester_ids=(REQUESTER,))
    answer_to(bot, OUTSIDER, "access prod-aws readonly 15m quick look")
    assert not bot.requests() and not bot.sessions()
    bot.driver.command(REQUESTER, "access prod-aws readonly 15m quick look")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    assert [s.requester_id for s in bot.sessions()] == [REQUESTER]


def test_list_and_request_modal_show_only_what_a_person_may_ask_for(bot: Bot) -> None:
    bot.slack.add_usergroup(REQUESTERS, [GROUP_MEMBER])
    bot.add_account(name="readonly", requester_ids=(REQUESTER,))
    bot.add_account(name="admin", requester_group=REQUESTERS)
    bot.add_account(name="billing", requesters_everyone=True)

    def listed(user: str) -> set[str]:
        text = answer_to(bot, user, "list")
        return {name for name in ("readonly", "admin", "billing") if f"prod-aws {name}`" in text}

    assert listed(REQUESTER) == {"readonly", "billing"}
    assert listed(GROUP_MEMBER) == {"admin", "billing"}
    assert listed(OUTSIDER) == {"billing"}

    seen = mark(bot)
    home = bot.driver.click(OUTSIDER, "pam_open_request", "", view={"id": "VHOME", "type": "home"})
    assert home.status == 200
    modal = json.dumps(wait_after(bot, seen, "views.open").args["view"])
    assert "prod-aws/billing" in modal and "prod-aws/readonly" not in modal and "prod-aws/admin" not in modal

    unknown = answer_to(bot, OUTSIDER, "access prod-aws nope")
    assert "prod-aws/billing" in unknown and "prod-aws/readonly" not in unknown


def test_a_group_members_ask_is_judged_before_its_transaction_and_recorded_once(bot: Bot) -> None:
    """A named requester is judged on the account the ask's transaction reads; a group needs Slack, which is
    never asked inside a transaction: that ask is judged first, and the one transaction it started rolls back."""
    bot.slack.add_usergroup(REQUESTERS, [GROUP_MEMBER])
    bot.add_account(requester_ids=(REQUESTER,), requester_group=REQUESTERS)
    seen = len(bot.slack.calls)
    assert "is waiting for approval" in answer_to(bot, GROUP_MEMBER, "access prod-aws readonly 30m")
    assert [c.method for c in bot.slack.calls[seen:]].count("usergroups.users.list") == 1
    assert "is waiting for approval" in answer_to(bot, REQUESTER, "access prod-aws readonly 30m")  # named: no group
    assert [c.method for c in bot.slack.calls[seen:]].count("usergroups.users.list") == 1
    created = bot.audit("request.create")
    assert [(e.actor, e.outcome, e.details["eligible"]) for e in created] == [
        (GROUP_MEMBER, "ok", "requester_group_member"), (REQUESTER, "ok", "named_requester")]
    assert sorted(r.requester_id for r in bot.requests()) == sorted([GROUP_MEMBER, REQUESTER])


def test_a_requester_group_that_cannot_be_read_refuses(bot: Bot) -> None:
    bot.slack.add_usergroup(REQUESTERS, [GROUP_MEMBER])
    bot.add_account(requester_group=REQUESTERS)
    bot.slack.fail_next("usergroups.users.list", status=500, times=3)  # through the client's retries
    text = answer_to(bot, GROUP_MEMBER, "access prod-aws readonly 30m")
    assert "could not read the user group" in text
    assert not bot.requests()
    refused = bot.audit("request.create")[-1]
    assert (refused.outcome, refused.details["code"]) == ("refused", "group_unreadable")


def test_an_unreadable_approver_group_refuses_the_decision_and_says_so_on_the_card(bot: Bot) -> None:
    bot.add_account(approver_ids=(), approver_group="SAPPROVERS")
    ref = ask(bot)
    bot.slack.fail_next("usergroups.users.list", error="missing_scope")
    card = bot.card()  # ADMIN is outside the group: the admins are never a fallback for a group
    assert bot.driver.click(ADMIN, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_ephemeral(bot.slack, "could not read the user group")
    note = bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == card["ts"])
    assert "cannot tell who may approve" in json.dumps(note.args)
    assert bot.requests()[-1].status == "pending"
    assert bot.audit("request.approve")[-1].outcome == "refused"

    bot.slack.add_usergroup("SAPPROVERS", [])  # an empty group: nobody, not the admins
    assert bot.driver.click(ADMIN, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_ephemeral(bot.slack, "is empty")
    assert bot.requests()[-1].status == "pending" and not bot.sessions()


def test_the_requester_is_checked_again_when_the_grant_happens(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    ref = ask(bot)
    bot.slack.add_user(REQUESTER, name="alice", email="alice@example.com", is_restricted=True)  # now a guest
    hops = len(bot.aws.sandbox.assume_role_calls())
    card = bot.card()
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_status(bot, ref, "failed")
    assert len(bot.aws.sandbox.assume_role_calls()) == hops  # no AssumeRole for someone who may not have it
    assert not bot.sessions()
    told = wait_dm(bot.slack, REQUESTER, "may no longer have access")
    assert "Guest" in json.dumps(told)
    bot.slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == card["ts"]
                       and "no console session came of it" in json.dumps(c.args))
    failed = bot.audit("session.grant")[-1]
    assert (failed.outcome, failed.details["aws_code"]) == ("failed", "actor_is_guest")


def test_someone_taken_off_the_requesters_while_pending_gets_nothing(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,), requester_ids=(REQUESTER,))
    ref = ask(bot)
    admin = bot.container.services.admin  # the admin changes the rule while the request waits
    changed = replace(admin.account_spec("prod-aws", "readonly"), requester_ids=(OUTSIDER,))
    admin.save_account(actor=ADMIN, spec=changed, replace=True)
    hops = len(bot.aws.sandbox.assume_role_calls())
    card = bot.card()
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_status(bot, ref, "failed")
    assert len(bot.aws.sandbox.assume_role_calls()) == hops and not bot.sessions()
    wait_dm(bot.slack, REQUESTER, "no longer among those who may request")


def test_someone_who_became_a_stranger_while_pending_gets_nothing(bot: Bot) -> None:
    bot.add_account(approver_ids=(APPROVER,))
    ref = ask(bot)
    bot.slack.add_user(REQUESTER, name="alice", is_stranger=True, team_id="TOTHERORG")  # now Slack Connect
    hops = len(bot.aws.sandbox.assume_role_calls())
    card = bot.card()
    assert bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"]).status == 200
    wait_status(bot, ref, "failed")
    assert len(bot.aws.sandbox.assume_role_calls()) == hops and not bot.sessions()
    assert bot.audit("session.grant")[-1].details["aws_code"] == "actor_is_stranger"
