"""Admin window builders fit Slack's limits; form input is read and checked before anything reaches AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.errors import AwsError, InvalidInput, PamError
from sandbox.slack_blocks import check_view
from sandbox.slack_payloads import checkboxes, conversations_select, plain_text_value, static_select, \
    users_select
from bot.services.admin import AccountSpec
from bot.services.read_models import AccountRead, ResourceRead
from bot.slack.admin_blocks import admin_home, admins_modal, confirm_remove, notice_view, working_view
from bot.slack.admin_forms import account_form, resource_form
from bot.slack.admin_input import check_account, check_resource, field_errors, read_account, read_resource

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ARN = "arn:aws:iam::123456789012:role/pam-readonly"


def resource(i: int) -> ResourceRead:
    return ResourceRead(id=i, name=f"res-{i}", role_arn=f"arn:aws:iam::123456789012:role/r{i}", description="d" * 400,
                        source_identity=False, created_by="U", created_at=NOW, updated_at=NOW)


def account(res: ResourceRead, j: int) -> AccountRead:
    return AccountRead(id=res.id * 100 + j, resource_id=res.id, name=f"acct-{j}", role_arn=ARN, description="",
                       default_duration_seconds=1800, approver_ids=("UAPPROVER1",), approver_group=None,
                       approvals_required=1, approval_channel="CAPPROVALS", auto_approve=False,
                       auto_approve_daily_limit=None, require_reason=True, revocation_enabled=False,
                       requesters_everyone=False, requester_ids=(), requester_group=None, break_glass=False,
                       escalate_to=None, max_extensions=0, extend_without_approval=False, created_by="U",
                       created_at=NOW, updated_at=NOW)


def submitted(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The view as Slack echoes it on submission, with these element states."""
    return {**view, "id": "VFORM", "state": {"values": {k: {"value": v} for k, v in values.items()}}}


def test_admin_home_with_nothing_and_with_too_much() -> None:
    empty = admin_home([], [], 1)
    check_view(empty)
    assert "Nothing is set up yet" in json.dumps(empty)
    resources = [resource(i) for i in range(60)]
    rows = [(r, account(r, j)) for r in resources for j in range(3)]
    full = admin_home(resources, rows, 3, notice="✅ saved")
    check_view(full)
    assert len(full["blocks"]) <= 100
    assert "more not shown here" in json.dumps(full, ensure_ascii=False)


def test_forms_and_notices_are_valid_views() -> None:
    spec = AccountSpec(resource="prod-aws", name="readonly", role_arn=ARN, duration="30m", approver_ids=("U1",),
                       approval_channel="C1", auto_approve=True, auto_approve_daily_limit=2)
    for view in (resource_form(), resource_form(name="prod-aws", role_arn=ARN, editing=True, parent="V1"),
                 account_form(["prod-aws"]), account_form(["prod-aws"], spec, editing=True), account_form([]),
                 notice_view("Saved", "ok"), working_view("Checking…"), admins_modal(["UADMIN01"], ["U2"]),
                 confirm_remove("resource", "prod-aws", accounts=["a"] * 30, active_sessions=2)):
        check_view(view)


def test_errors_after_the_ack_show_on_the_field_and_on_top() -> None:
    error = AwsError("pam-bot could not assume the role (AccessDenied).", code="AccessDenied", field="role_arn")
    view = resource_form(name="prod-aws", role_arn=ARN, error=error, field="role_arn")
    check_view(view)
    (arn_block,) = [b for b in view["blocks"] if b.get("block_id") == "role_arn"]
    assert "AccessDenied" in arn_block["hint"]["text"]
    assert "Not saved" in json.dumps(view["blocks"][0])


def test_resource_input_is_read_and_checked() -> None:
    view = submitted(resource_form(parent="VADMIN"), {"name": plain_text_value("Prod-AWS"),
                                                       "role_arn": plain_text_value(ARN),
                                                       "description": plain_text_value(None)})
    form = read_resource(view)
    assert (form.name, form.role_arn, form.parent, form.editing) == ("Prod-AWS", ARN, "VADMIN", False)
    check_resource(form, existing=set())
    with pytest.raises(PamError) as taken:
        check_resource(form, existing={"prod-aws"})
    assert field_errors(view, taken.value) == {"name": taken.value.user_message}
    bad = submitted(resource_form(), {"name": plain_text_value("bad name!"), "role_arn": plain_text_value("x")})
    with pytest.raises(InvalidInput) as named:
        check_resource(read_resource(bad), existing=set())
    assert list(field_errors(bad, named.value)) == ["name"]  # the service says "resource"; the form says "name"


def test_account_input_is_read_and_checked() -> None:
    view = submitted(account_form(["prod-aws"], parent="VADMIN"), {
        "resource": static_select("prod-aws"), "name": plain_text_value("readonly"), "role_arn": plain_text_value(ARN),
        "duration": plain_text_value("30m"), "approvers": users_select(["U0APPR1", "U0APPR2"]),
        "approver_group": plain_text_value(None), "approvals_required": plain_text_value("2"),
        "approval_channel": conversations_select("C0APPROVE"), "options": checkboxes(["require_reason"]),
        "auto_approve_daily_limit": plain_text_value(None), "requesters": users_select(["U0REQ3"]),
        "requester_group": plain_text_value("SREQUEST")})
    form = read_account(view)
    assert form.spec == AccountSpec(resource="prod-aws", name="readonly", role_arn=ARN, duration="30m",
                                    approver_ids=("U0APPR1", "U0APPR2"), approvals_required=2, approval_channel="C0APPROVE",
                                    require_reason=True, requester_ids=("U0REQ3",), requester_group="SREQUEST")
    check_account(form, ["prod-aws"], set())
    cases = {"duration": plain_text_value("2h"), "approvals_required": plain_text_value("3"),
             "role_arn": plain_text_value("arn:aws:s3:::bucket"), "requester_group": plain_text_value("nope")}
    for block, state in cases.items():
        changed = submitted(view, {**{k: v["value"] for k, v in view["state"]["values"].items()}, block: state})
        with pytest.raises(PamError) as refused:
            check_account(read_account(changed), ["prod-aws"], set())
        assert list(field_errors(changed, refused.value)) == [block], block
    group = submitted(view, {**{k: v["value"] for k, v in view["state"]["values"].items()},
                             "approver_group": plain_text_value("engineers")})
    with pytest.raises(InvalidInput) as bad_group:
        read_account(group)
    assert bad_group.value.field == "approver_group"
