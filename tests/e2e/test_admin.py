"""The admin window over real HTTP: add resources and accounts, AWS refusals, forged submissions, removals."""

from __future__ import annotations

import json
import threading
from typing import Any

from sandbox.slack_calls import RecordedCall
from sandbox.slack_payloads import checkboxes, conversations_select, plain_text_value, static_select, users_select
from tests.e2e.helpers import wait_ephemeral
from tests.fixtures_bot import ADMIN, APPROVER, APPROVER_2, CHANNEL, EXTERNAL_ID, GROUP_MEMBER, OUTSIDER, REQUESTER, Bot

UNKNOWN_ROLE = "arn:aws:iam::123456789012:role/pam-no-such-role"


def mark(bot: Bot) -> set[int]:
    """The calls the stand-in has seen so far; `wait_after` waits for later ones."""
    return {id(call) for call in bot.slack.calls}


def wait_after(bot: Bot, seen: set[int], method: str, needle: str = "", view_id: str | None = None,
               timeout: float = 10.0) -> RecordedCall:
    def wanted(call: RecordedCall) -> bool:
        return (id(call) not in seen and needle in json.dumps(call.args, ensure_ascii=False)
                and (view_id is None or call.args.get("view_id") == view_id))
    return bot.slack.wait_for(method, wanted, timeout=timeout)


def open_admin(bot: Bot, user: str = ADMIN) -> dict[str, Any]:
    seen = mark(bot)
    assert bot.driver.command(user, "admin").status == 200
    call = wait_after(bot, seen, "views.open")
    assert call.ok, call.response
    return call.response["view"]


def push_from(bot: Bot, view: dict[str, Any], action: str, value: str = "", user: str = ADMIN) -> dict[str, Any]:
    """Click a button in a modal and return the view it pushed."""
    seen = mark(bot)
    assert bot.driver.click(user, action, value, view=view).status == 200
    call = wait_after(bot, seen, "views.push")
    assert call.ok, call.response
    return call.response["view"]


def submit(bot: Bot, view: dict[str, Any], values: dict[str, Any], user: str = ADMIN) -> dict[str, Any]:
    """Submit a modal the stand-in opened; return the bot's ack body (response_action...)."""
    response = bot.driver.submit_view(user, view["callback_id"], {k: {"value": v} for k, v in values.items()},
                                      view_id=view["id"])
    assert response.status == 200, response.body
    return response.json or {}


def resource_values(name: str, arn: str) -> dict[str, Any]:
    return {"name": plain_text_value(name), "role_arn": plain_text_value(arn),
            "description": plain_text_value("Production")}


def account_values(resource: str, name: str, arn: str, **changes: Any) -> dict[str, Any]:
    values = {"resource": static_select(resource), "name": plain_text_value(name), "role_arn": plain_text_value(arn),
              "description": plain_text_value("Read-only"), "duration": plain_text_value("30m"),
              "approvers": users_select([APPROVER, APPROVER_2]), "approver_group": plain_text_value(None),
              "approvals_required": plain_text_value("1"), "approval_channel": conversations_select(CHANNEL),
              "options": checkboxes([]), "auto_approve_daily_limit": plain_text_value(None),
              "requesters": users_select([REQUESTER]), "requester_group": plain_text_value(None)}
    return {**values, **changes}


def add_resource(bot: Bot, admin_view: dict[str, Any], name: str, arn: str) -> RecordedCall:
    """Fill and submit the Add resource form; return the views.update that reported the outcome."""
    form = push_from(bot, admin_view, "pam_admin_add_resource")
    seen = mark(bot)
    ack = submit(bot, form, resource_values(name, arn))
    assert ack["response_action"] == "update" and "Checking with AWS" in json.dumps(ack)
    return wait_after(bot, seen, "views.update", view_id=form["id"])


def test_admin_adds_a_resource_and_an_account_that_work_for_access_at_once(bot: Bot) -> None:
    admin_view = open_admin(bot)
    resource_arn = bot.aws.resource_role()
    seen = mark(bot)
    outcome = add_resource(bot, admin_view, "prod-aws", resource_arn)
    assert outcome.ok and "Resource saved" in json.dumps(outcome.args)
    refreshed = wait_after(bot, seen, "views.update", "prod-aws", view_id=admin_view["id"]).response["view"]

    form = push_from(bot, refreshed, "pam_admin_add_account")
    target = bot.aws.target_role(resource_arn)
    seen = mark(bot)
    ack = submit(bot, form, account_values("prod-aws", "readonly", target,
                                           options=checkboxes(["require_reason", "revocation_enabled"])))
    assert ack["response_action"] == "update"
    outcome = wait_after(bot, seen, "views.update", view_id=form["id"])
    assert outcome.ok and "Account saved" in json.dumps(outcome.args), outcome.args

    (resource, account), = bot.container.services.admin.accounts()
    assert (resource.role_arn, resource.description) == (resource_arn, "Production")
    assert (account.name, account.role_arn, account.default_duration_seconds) == ("readonly", target, 1800)
    assert sorted(account.approver_ids) == [APPROVER, APPROVER_2] and account.approval_channel == CHANNEL
    assert account.require_reason and account.revocation_enabled and not account.auto_approve
    saved = [(e.action, e.actor) for e in bot.audit() if e.outcome == "ok"]
    assert ("resource.save", ADMIN) in saved and ("account.save", ADMIN) in saved

    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking INC-42")
    wait_ephemeral(bot.slack, "is waiting for approval")
    assert bot.requests()[-1].target_role_arn == target
    assert "prod-aws/readonly" in json.dumps(bot.card())


def test_a_non_admin_is_refused_even_with_forged_payloads(bot: Bot) -> None:
    bot.add_account()
    arn = bot.aws.resource_role()
    hops = len(bot.aws.sandbox.assume_role_calls())
    bot.driver.command(OUTSIDER, "admin")
    wait_ephemeral(bot.slack, "Only pam-bot admins")
    forged = {
        "pam_resource_modal": resource_values("stolen", arn),
        "pam_account_modal": account_values("prod-aws", "stolen", bot.aws.target_role(bot.accounts["prod-aws"])),
        "pam_admins_modal": {"admins": users_select([OUTSIDER])},
    }
    for callback, values in forged.items():
        response = bot.driver.submit_view(OUTSIDER, callback, {k: {"value": v} for k, v in values.items()},
                                          private_metadata=json.dumps({"editing": False, "parent": ""}))
        assert response.status == 200
        assert response.json["response_action"] == "update" and "Only pam-bot admins" in response.body, callback
    removal = bot.driver.submit_view(OUTSIDER, "pam_confirm_remove_modal", {},
                                     private_metadata=json.dumps({"kind": "resource", "target": "prod-aws"}))
    assert "Only pam-bot admins" in removal.body
    assert bot.driver.click(OUTSIDER, "pam_admin_add_resource", "", view={"id": "VFORGED", "blocks": []}).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: "Only pam-bot admins" in json.dumps(c.args))

    assert [r.name for r in bot.container.services.admin.resources()] == ["prod-aws"]
    assert [a.name for _, a in bot.container.services.admin.accounts()] == ["readonly"]
    assert OUTSIDER not in bot.container.services.admin.admin_ids()
    assert len(bot.aws.sandbox.assume_role_calls()) == hops  # nothing was even tried in AWS
    refused = {(e.action, e.actor) for e in bot.audit() if e.outcome == "refused"}
    assert {("resource.save", OUTSIDER), ("account.save", OUTSIDER), ("admin.add", OUTSIDER),
            ("resource.remove", OUTSIDER), ("admin.open", OUTSIDER)} <= refused
    assert not bot.slack.calls_to("views.push") and not bot.slack.calls_to("views.open")


def test_an_admin_removed_meanwhile_cannot_submit_the_form_still_open(bot: Bot) -> None:
    bot.container.services.admin.set_admin(actor=ADMIN, user_id=GROUP_MEMBER, admin=True)
    form = push_from(bot, open_admin(bot, GROUP_MEMBER), "pam_admin_add_resource", user=GROUP_MEMBER)
    bot.container.services.admin.set_admin(actor=ADMIN, user_id=GROUP_MEMBER, admin=False)
    ack = submit(bot, form, resource_values("late", bot.aws.resource_role()), user=GROUP_MEMBER)
    assert ack["response_action"] == "update" and "Only pam-bot admins" in json.dumps(ack)
    assert not bot.container.services.admin.resources()
    assert bot.audit("resource.save")[-1].outcome == "refused"


def test_aws_refusals_come_back_on_the_form_and_nothing_is_saved(bot: Bot) -> None:
    admin_view = open_admin(bot)
    other_installation = bot.aws.resource_role(external_id="another-installation-id")
    for arn in (other_installation, UNKNOWN_ROLE):
        outcome = add_resource(bot, admin_view, "prod-aws", arn)
        view = outcome.args["view"]
        assert view["callback_id"] == "pam_resource_modal" and view["submit"]  # the form again, to fix and retry
        (field,) = [b for b in view["blocks"] if b.get("block_id") == "role_arn"]
        assert "AccessDenied" in field["hint"]["text"] and "ExternalId" in field["hint"]["text"]
        assert field["element"]["initial_value"] == arn and "Not saved" in json.dumps(view["blocks"][0])
    assert not bot.container.services.admin.resources()
    failed = [e for e in bot.audit("resource.save") if e.outcome == "failed"]
    assert len(failed) == 2 and all(e.details["code"] == "AccessDenied" for e in failed)

    resource_arn = bot.aws.resource_role()
    assert add_resource(bot, admin_view, "prod-aws", resource_arn).ok
    form = push_from(bot, admin_view, "pam_admin_add_account")
    seen = mark(bot)
    wrong_trust = bot.aws.target_role(resource_arn, external_id="another-installation-id")
    submit(bot, form, account_values("prod-aws", "readonly", wrong_trust))
    view = wait_after(bot, seen, "views.update", view_id=form["id"]).args["view"]
    # Read through the Resource Role (iam:GetRole), the trust policy is refused before any chain is tried.
    assert view["callback_id"] == "pam_account_modal" and "without this installation's ExternalId" in json.dumps(view)
    assert EXTERNAL_ID in json.dumps(view)  # the statement to add, with this installation's ExternalId
    assert not bot.container.services.admin.accounts()
    assert bot.audit("account.save")[-1].outcome == "refused"
    assert bot.audit("account.save")[-1].details["code"] == "target_trust"


def test_input_problems_are_field_errors_before_any_aws_call(bot: Bot) -> None:
    bot.add_account()
    admin_view = open_admin(bot)
    hops = len(bot.aws.sandbox.assume_role_calls())
    form = push_from(bot, admin_view, "pam_admin_add_resource")
    assert submit(bot, form, resource_values("prod-aws", bot.accounts["prod-aws"]))["errors"].keys() == {"name"}
    assert submit(bot, form, resource_values("other", "not-an-arn"))["errors"].keys() == {"role_arn"}
    form = push_from(bot, admin_view, "pam_admin_add_account")
    target = bot.aws.target_role(bot.accounts["prod-aws"])
    cases = {"duration": ("new", {"duration": plain_text_value("2h")}),
             "approvals_required": ("new", {"approvals_required": plain_text_value("3")}),
             "name": ("readonly", {})}
    for block, (name, change) in cases.items():
        ack = submit(bot, form, account_values("prod-aws", name, target, **change))
        assert ack["response_action"] == "errors" and list(ack["errors"]) == [block], ack
    assert len(bot.aws.sandbox.assume_role_calls()) == hops
    assert [a.name for _, a in bot.container.services.admin.accounts()] == ["readonly"]


class HeldBroker:
    """The real broker, except that validating a Resource Role waits until the test lets it go on."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.entered, self.release = inner, threading.Event(), threading.Event()

    def validate_resource(self, resource_role_arn: str, **options: Any) -> None:
        self.entered.set()
        assert self.release.wait(10)
        self.inner.validate_resource(resource_role_arn, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_ack_does_not_wait_for_aws(bot: Bot) -> None:
    admin = bot.container.services.admin
    held = HeldBroker(admin.broker)
    admin.broker = held
    try:
        admin_view = open_admin(bot)
        form = push_from(bot, admin_view, "pam_admin_add_resource")
        seen = mark(bot)
        ack = submit(bot, form, resource_values("prod-aws", bot.aws.resource_role()))
        assert held.entered.wait(5) and not held.release.is_set()  # AWS is still being asked...
        assert ack["response_action"] == "update" and "Checking with AWS" in json.dumps(ack)  # ...yet Slack has its ack
        assert not admin.resources()
        held.release.set()
        outcome = wait_after(bot, seen, "views.update", view_id=form["id"])
        assert outcome.ok and "Resource saved" in json.dumps(outcome.args)
    finally:
        held.release.set()
        admin.broker = held.inner
