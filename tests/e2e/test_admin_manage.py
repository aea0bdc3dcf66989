"""The admin window's other duties over real HTTP: edit, remove with confirmation, admins, the Check button."""

from __future__ import annotations

import json

import pytest

from bot.domain.errors import InvalidInput, NotAllowed
from bot.services.admin import AdminChange
from sandbox.slack_payloads import checkboxes, plain_text_value, users_select
from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.e2e.test_admin import mark, open_admin, push_from, submit, wait_after
from tests.fixtures_bot import ADMIN, EXTERNAL_ID, GROUP_MEMBER, OUTSIDER, REQUESTER, Bot


def edit_form(bot: Bot, action: str, value: str) -> dict:
    form = push_from(bot, open_admin(bot), action, value)
    assert form["callback_id"] in ("pam_resource_modal", "pam_account_modal")
    return form


def test_edit_an_account_keeps_its_names_and_checks_aws_again(bot: Bot) -> None:
    bot.add_account(duration="1h")
    form = edit_form(bot, "pam_admin_edit_account", "prod-aws/readonly")
    values = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert "name" not in values and values["duration"]["initial_value"] == "1h"
    target = values["role_arn"]["initial_value"]
    hops = len(bot.aws.sandbox.assume_role_calls())
    seen = mark(bot)
    submit(bot, form, {"role_arn": plain_text_value(target), "duration": plain_text_value("45m"),
                       "approvals_required": plain_text_value("1"), "description": plain_text_value("On-call"),
                       "options": checkboxes(["requesters_everyone"])})
    assert "Account saved" in json.dumps(wait_after(bot, seen, "views.update", view_id=form["id"]).args)
    (_, account), = bot.container.services.admin.accounts()
    assert (account.default_duration_seconds, account.description) == (2700, "On-call")
    assert len(bot.aws.sandbox.assume_role_calls()) == hops + 3  # trust read through hop 1, then the chain again
    assert bot.audit("account.save")[-1].details["replaced"] is True


def test_removing_a_resource_says_what_happens_to_accounts_and_sessions(bot: Bot) -> None:
    bot.add_account(auto_approve=True)
    bot.add_account(name="admin")
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m INC-1")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    form = edit_form(bot, "pam_admin_edit_resource", "prod-aws")
    seen = mark(bot)
    assert bot.driver.click(ADMIN, "pam_admin_remove_resource", "prod-aws", view=form).status == 200
    confirm = wait_after(bot, seen, "views.update", view_id=form["id"])
    assert confirm.ok and confirm.args["view"]["callback_id"] == "pam_confirm_remove_modal"
    text = json.dumps(confirm.args["view"])
    assert "2 accounts go with it" in text and "`admin`" in text and "`readonly`" in text
    assert "1 active session keeps working" in text and "no longer cuts it in AWS" in text
    assert bot.container.services.admin.resources()  # nothing happens before the confirmation

    ack = submit(bot, confirm.response["view"], {})
    assert ack["response_action"] == "update" and "removed with its 2 account" in json.dumps(ack)
    assert not bot.container.services.admin.resources() and not bot.container.services.admin.accounts()
    assert bot.audit("resource.remove")[-1].details["accounts_removed"] == 2
    assert [s.status for s in bot.sessions()] == ["active"]  # it runs until it ends


def test_removing_an_account_asks_first(bot: Bot) -> None:
    bot.add_account()
    form = edit_form(bot, "pam_admin_edit_account", "prod-aws/readonly")
    seen = mark(bot)
    bot.driver.click(ADMIN, "pam_admin_remove_account", "prod-aws/readonly", view=form)
    confirm = wait_after(bot, seen, "views.update", view_id=form["id"])
    assert "No sessions are active on it" in json.dumps(confirm.args)
    submit(bot, confirm.response["view"], {})
    assert not bot.container.services.admin.accounts() and bot.container.services.admin.resources()
    assert bot.audit("account.remove")[-1].outcome == "ok"


def test_admins_are_managed_in_slack_and_may_not_remove_themselves(bot: Bot) -> None:
    admins = push_from(bot, open_admin(bot), "pam_admin_manage_admins")
    ack = submit(bot, admins, {"admins": users_select([GROUP_MEMBER])})
    assert ack["response_action"] == "update" and f"added <@{GROUP_MEMBER}>" in json.dumps(ack)
    assert GROUP_MEMBER in bot.container.services.admin.admin_ids()
    assert bot.audit("admin.add")[-1].target == GROUP_MEMBER

    own = push_from(bot, open_admin(bot, GROUP_MEMBER), "pam_admin_manage_admins", user=GROUP_MEMBER)
    element = [b for b in own["blocks"] if b.get("block_id") == "admins"][0]["element"]
    assert element["initial_users"] == [GROUP_MEMBER]
    ack = submit(bot, own, {"admins": users_select([])}, user=GROUP_MEMBER)
    assert ack["response_action"] == "errors" and "yourself" in ack["errors"]["admins"]
    assert GROUP_MEMBER in bot.container.services.admin.admin_ids()
    ack = submit(bot, admins, {"admins": users_select([])})
    assert "removed" in json.dumps(ack) and GROUP_MEMBER not in bot.container.services.admin.admin_ids()
    bot.driver.command(GROUP_MEMBER, "admin")
    wait_ephemeral(bot.slack, "Only pam-bot admins")


def test_check_button_tries_every_role_and_explains_what_to_fix(bot: Bot) -> None:
    target = bot.add_account()
    bot.add_account(name="admin")
    bot.aws.sandbox.iam().update_assume_role_policy(
        RoleName=target.rsplit("/", 1)[-1],
        PolicyDocument=json.dumps(_trust(bot.accounts["prod-aws"], "another-installation-id")))
    pushed = push_from(bot, open_admin(bot), "pam_admin_check")
    assert "Trying every" in json.dumps(pushed)
    report = bot.slack.wait_for("views.update", lambda c: c.args["view_id"] == pushed["id"]).args["view"]
    text = json.dumps(report, ensure_ascii=False)
    assert "1 problem found" in text and "❌ *account prod-aws/readonly*" in text and "AccessDenied" in text
    assert "✅ *account prod-aws/admin*" in text and "✅ *resource prod-aws*" in text and "*Fix:*" in text
    assert EXTERNAL_ID in text
    assert bot.audit("setup.doctor")[-1].outcome == "failed"
    bot.driver.click(OUTSIDER, "pam_admin_check", "", view=pushed)
    bot.slack.wait_for("chat.postMessage", lambda c: "Only pam-bot admins" in json.dumps(c.args))
    assert len(bot.audit("setup.doctor")) == 1


def _trust(principal: str, external_id: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]}


def test_setting_the_admins_adds_and_removes_stored_ones_but_never_the_actor_or_pam_admins(bot: Bot) -> None:
    admin = bot.container.services.admin
    assert ADMIN in admin.env_admins
    change = admin.set_admins(actor=ADMIN, chosen={ADMIN, GROUP_MEMBER, REQUESTER})
    assert (change.added, change.removed) == (tuple(sorted([GROUP_MEMBER, REQUESTER])), ())  # PAM_ADMINS not stored
    with pytest.raises(InvalidInput, match="yourself") as refused:
        admin.set_admins(actor=GROUP_MEMBER, chosen={REQUESTER})
    assert refused.value.field == "admins" and GROUP_MEMBER in admin.admin_ids()  # nothing changed
    with pytest.raises(NotAllowed):
        admin.set_admins(actor=OUTSIDER, chosen=set())
    change = admin.set_admins(actor=ADMIN, chosen=set())  # PAM_ADMINS stay: only the stored ones go
    assert (change.added, change.removed) == ((), tuple(sorted([GROUP_MEMBER, REQUESTER])))
    assert admin.admin_ids() == admin.env_admins
    assert admin.set_admins(actor=ADMIN, chosen=set()) == AdminChange()
