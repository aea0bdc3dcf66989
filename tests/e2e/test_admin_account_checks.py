"""The account form over real HTTP: approvers or a group (not both) at once, Slack's answers about ids after the ack."""

from __future__ import annotations

import json

from sandbox.slack_payloads import conversations_select, plain_text_value, users_select
from tests.e2e.test_admin import account_values, mark, open_admin, push_from, submit, wait_after
from tests.fixtures_bot import APPROVER, GROUP, Bot


def test_approvers_and_a_group_are_refused_on_the_form_before_any_aws_call(bot: Bot) -> None:
    bot.add_account()
    form = push_from(bot, open_admin(bot), "pam_admin_add_account")
    hops = len(bot.aws.sandbox.assume_role_calls())
    target = bot.aws.target_role(bot.accounts["prod-aws"])
    ack = submit(bot, form, account_values("prod-aws", "both", target, approver_group=plain_text_value(GROUP)))
    assert ack["response_action"] == "errors" and list(ack["errors"]) == ["approver_group"], ack
    assert "not both" in ack["errors"]["approver_group"]
    assert len(bot.aws.sandbox.assume_role_calls()) == hops
    assert [a.name for _, a in bot.container.services.admin.accounts()] == ["readonly"]


def test_slack_ids_the_bot_cannot_use_come_back_on_the_form(bot: Bot) -> None:
    bot.add_account()
    bot.slack.add_channel("CELSEWHERE", name="elsewhere", is_member=False)
    form = push_from(bot, open_admin(bot), "pam_admin_add_account")
    target = bot.aws.target_role(bot.accounts["prod-aws"])
    cases = {"approval_channel": {"approval_channel": conversations_select("CELSEWHERE")},
             "approvers": {"approvers": users_select([APPROVER, "UNOBODY42"])}}
    for block, change in cases.items():
        seen = mark(bot)
        submit(bot, form, account_values("prod-aws", "ops", target, **change))
        view = wait_after(bot, seen, "views.update", view_id=form["id"]).args["view"]
        (field,) = [b for b in view["blocks"] if b.get("block_id") == block]
        assert view["callback_id"] == "pam_account_modal" and "hint" in field, json.dumps(view)[:800]
        assert ("/invite @pam-bot" if block == "approval_channel" else "UNOBODY42") in field["hint"]["text"]
    assert [a.name for _, a in bot.container.services.admin.accounts()] == ["readonly"]
    refused = [e for e in bot.audit("account.save") if e.outcome == "refused"]
    assert [e.details["code"] for e in refused] == ["not_in_channel", "unknown_slack_id"]
