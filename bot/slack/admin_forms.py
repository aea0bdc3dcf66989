"""Pure Block Kit builders of the admin forms: add or edit a resource, add or edit an account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.arns import EXAMPLE
from bot.domain.errors import PamError
from bot.domain.text import truncate
from bot.services.admin import AccountSpec
from bot.slack.blocks import button, context, section
from bot.slack.ids import VALUE, Action, Block, View
from bot.slack.modals import MAX_OPTIONS, modal, option, plain, text_input

OPTIONS = {
    "requesters_everyone": ("Anyone may request", "Everyone in the workspace may ask (guests and strangers never)."),
    "auto_approve": ("Auto-approve", "Grant at once, without approvers (up to the daily limit below)."),
    "require_reason": ("Require a reason", "Requests without a reason are refused."),
    "extend_without_approval": ("Extend without approval", "Extensions are granted at once, not approved again."),
    "break_glass": ("Break-glass", "Allow /pam break-glass: access at once, loud, reviewed afterwards."),
    "revocation_enabled": ("Revocation in AWS", "Revoking cuts the console session in AWS too "
                                                "(the Resource Role needs iam:PutRolePolicy on the Target Role)."),
}
ERROR_MARK = "⚠️ "


def resource_form(*, name: str = "", role_arn: str = "", description: str = "", editing: bool = False,
                  parent: str | None = None, error: PamError | None = None, field: str | None = None) -> dict[str, Any]:
    """Add a resource (`editing`: change the role ARN or description of `name`)."""
    blocks = _problem(error)
    if editing:
        blocks.append(section(f"*Resource `{name}`*"))
    else:
        blocks.append(text_input(Block.NAME, "Name", initial=name, placeholder="prod-aws", max_length=32))
    blocks += [
        _hint(text_input(Block.ROLE_ARN, "Resource Role ARN", initial=role_arn, placeholder=EXAMPLE, max_length=2048),
              "pam-bot assumes this role with the ExternalId before saving. `/pam setup` shows its trust policy."),
        text_input(Block.DESCRIPTION, "Description", initial=description, multiline=True, optional=True,
                   max_length=500),
    ]
    if editing:
        blocks.append({"type": "actions", "block_id": Block.ACTIONS.value, "elements": [
            button("Remove resource…", Action.ADMIN_REMOVE_RESOURCE, name, style="danger")]})
    title = "Edit resource" if editing else "Add resource"
    return modal(View.RESOURCE, title, _mark(blocks, error, field), submit="Save",
                 metadata={"editing": editing, "name": name if editing else "", "parent": parent or ""})


def account_form(resources: Sequence[str], spec: AccountSpec | None = None, *, editing: bool = False,
                 parent: str | None = None, error: PamError | None = None, field: str | None = None) -> dict[str, Any]:
    """Add an account under a resource (`editing`: change everything but its names)."""
    spec = spec or AccountSpec(resource=resources[0] if len(resources) == 1 else "", name="", role_arn="")
    blocks = _problem(error)
    if editing:
        blocks.append(section(f"*Account `{spec.resource}/{spec.name}`*"))
    elif not resources:
        blocks.append(context("Add a resource first: accounts live under a resource."))
        return modal(View.ACCOUNT, "Add account", blocks, submit=None)
    else:
        blocks += [_resource_select(resources, spec.resource),
                   text_input(Block.NAME, "Name", initial=spec.name, placeholder="readonly", max_length=32)]
    blocks += [
        text_input(Block.ROLE_ARN, "Target Role ARN", initial=spec.role_arn, placeholder=EXAMPLE, max_length=2048),
        text_input(Block.DESCRIPTION, "Description", initial=spec.description, optional=True, max_length=500,
                   placeholder="Read-only for on-call"),
        text_input(Block.DURATION, "Longest session (15m to 1h; also the default)", initial=spec.duration,
                   placeholder="30m", max_length=20),
        _input(Block.APPROVERS, "Approvers", _users(spec.approver_ids), optional=True),
        _hint(text_input(Block.APPROVER_GROUP, "Approver user group id", initial=spec.approver_group or "",
                         optional=True, placeholder="S0123ABCD", max_length=32),
              "Its members may approve too. Without approvers and group, pam-bot admins approve."),
        _hint(_input(Block.REQUESTERS, "Who may request", _users(spec.requester_ids, "People who may ask"),
                     optional=True),
              "Named people and/or a user group below — or tick \"Anyone may request\" under Options."),
        text_input(Block.REQUESTER_GROUP, "Requester user group id", initial=spec.requester_group or "",
                   optional=True, placeholder="S0123ABCD", max_length=32),
        text_input(Block.APPROVALS_REQUIRED, "Approvals required", initial=str(spec.approvals_required),
                   max_length=3),
        _input(Block.CHANNEL, "Approval channel", _channel(spec.approval_channel), optional=True),
        _input(Block.OPTIONS, "Options", _options(spec), optional=True),
        text_input(Block.MAX_EXTENSIONS, "Extensions per session (0: none)", initial=str(spec.max_extensions),
                   optional=True, max_length=2),
        _hint(text_input(Block.ESCALATE_TO, "Escalate to (channel or group id)", initial=spec.escalate_to or "",
                         optional=True, placeholder="C0123ONCALL or S0123LEADS", max_length=32),
              "The last reminder of a request nobody decided posts in this channel, or mentions this group."),
        text_input(Block.DAILY_LIMIT, "Auto-approvals per person per day (empty: no limit)", optional=True,
                   initial=str(spec.auto_approve_daily_limit or ""), max_length=4),
    ]
    if editing:
        blocks.append({"type": "actions", "block_id": Block.ACTIONS.value, "elements": [
            button("Remove account…", Action.ADMIN_REMOVE_ACCOUNT, f"{spec.resource}/{spec.name}", style="danger")]})
    metadata = {"editing": editing, "resource": spec.resource if editing else "",
                "name": spec.name if editing else "", "parent": parent or ""}
    return modal(View.ACCOUNT, "Edit account" if editing else "Add account", _mark(blocks, error, field),
                 submit="Save", metadata=metadata)


def _problem(error: PamError | None) -> list[dict[str, Any]]:
    return [context(f"{ERROR_MARK}*Not saved.* {error.user_message}")] if error is not None else []


def _mark(blocks: list[dict[str, Any]], error: PamError | None, field: str | None) -> list[dict[str, Any]]:
    """Slack shows field errors only in the ack; after it, the errored field carries the message as its hint."""
    if error is None or field is None:
        return blocks
    return [_hint(b, ERROR_MARK + error.user_message) if b.get("block_id") == field and b["type"] == "input" else b
            for b in blocks]


def _hint(block: dict[str, Any], text: str) -> dict[str, Any]:
    return {**block, "hint": plain(text, 2000)}


def _input(block: Block, label: str, element: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    return {"type": "input", "block_id": block.value, "label": plain(label), "element": element, "optional": optional}


def _resource_select(resources: Sequence[str], selected: str) -> dict[str, Any]:
    options = [option(name, name) for name in resources[:MAX_OPTIONS]]
    element: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "options": options,
                               "placeholder": plain("Choose a resource")}
    chosen = next((o for o in options if o["value"] == selected), None)
    if chosen:
        element["initial_option"] = chosen
    return _input(Block.RESOURCE, "Resource", element)


def _users(user_ids: Sequence[str], placeholder: str = "People who may approve") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "multi_users_select", "action_id": VALUE,
                               "placeholder": plain(placeholder)}
    if user_ids:
        element["initial_users"] = list(user_ids)
    return element


def _channel(channel: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "conversations_select", "action_id": VALUE,
                               "placeholder": plain("Default: PAM_APPROVAL_CHANNEL, else DMs to approvers"),
                               "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    if channel:
        element["initial_conversation"] = channel
    return element


def _options(spec: AccountSpec) -> dict[str, Any]:
    options: list[dict[str, Any]] = [{"text": plain(label), "description": plain(truncate(hint, 75)), "value": value}
                                     for value, (label, hint) in OPTIONS.items()]
    chosen = [o for o in options if getattr(spec, o["value"])]
    element: dict[str, Any] = {"type": "checkboxes", "action_id": VALUE, "options": options}
    if chosen:
        element["initial_options"] = chosen
    return element
