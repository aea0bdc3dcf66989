"""Reading the admin forms' submissions and the checks that need no AWS, so the modal can show them at once."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bot.domain.approvable import approval_problems
from bot.domain.arns import parse_role_arn
from bot.domain.errors import Conflict, InvalidInput, NotFound, PamError
from bot.domain.names import validate_name
from bot.domain.text import truncate
from bot.services.account_spec import AccountSpec, check_spec
from bot.slack.ids import Block, View
from bot.slack.payload import metadata, view_values

_GROUP = re.compile(r"S[A-Z0-9]{2,31}")
# Service errors name the input they are about; in the forms some of those inputs are called differently.
_FIELDS = {
    View.RESOURCE.value: {"resource": Block.NAME.value},
    View.ACCOUNT.value: {"account": Block.NAME.value},
}
ERROR_TEXT_MAX = 2000


@dataclass(frozen=True)
class ResourceInput:
    name: str
    role_arn: str
    description: str
    editing: bool
    parent: str | None


@dataclass(frozen=True)
class AccountInput:
    spec: AccountSpec
    editing: bool
    parent: str | None


def read_resource(view: dict[str, Any]) -> ResourceInput:
    values, meta = view_values(view), metadata(view)
    editing = bool(meta.get("editing"))
    name = str(meta.get("name", "")) if editing else str(values.get(Block.NAME.value, ""))
    return ResourceInput(name=name, role_arn=str(values.get(Block.ROLE_ARN.value, "")),
                         description=str(values.get(Block.DESCRIPTION.value, "")), editing=editing,
                         parent=str(meta.get("parent") or "") or None)


def read_account(view: dict[str, Any]) -> AccountInput:
    """The submitted account; InvalidInput (with its field) when a number or group id cannot be read."""
    values, meta = view_values(view), metadata(view)
    editing = bool(meta.get("editing"))
    options = set(values.get(Block.OPTIONS.value) or ())
    group = str(values.get(Block.APPROVER_GROUP.value, "")).strip() or None
    if group is not None and not _GROUP.fullmatch(group):
        raise InvalidInput("A user group id looks like S0123ABCD: in Slack, open the group and copy its id from the "
                           "⋮ menu.", field=Block.APPROVER_GROUP.value)
    requester_group = str(values.get(Block.REQUESTER_GROUP.value, "")).strip() or None
    if requester_group is not None and not _GROUP.fullmatch(requester_group):
        raise InvalidInput("A user group id looks like S0123ABCD: in Slack, open the group and copy its id from the "
                           "⋮ menu.", field=Block.REQUESTER_GROUP.value)
    spec = AccountSpec(
        resource=str(meta.get("resource", "") if editing else values.get(Block.RESOURCE.value, "")),
        name=str(meta.get("name", "") if editing else values.get(Block.NAME.value, "")),
        role_arn=str(values.get(Block.ROLE_ARN.value, "")),
        duration=str(values.get(Block.DURATION.value, "")) or "1h",
        description=str(values.get(Block.DESCRIPTION.value, "")),
        approver_ids=tuple(values.get(Block.APPROVERS.value) or ()),
        approver_group=group,
        approvals_required=_number(values, Block.APPROVALS_REQUIRED, "Approvals required", default=1) or 0,
        approval_channel=str(values.get(Block.CHANNEL.value) or "") or None,
        auto_approve="auto_approve" in options,
        auto_approve_daily_limit=_number(values, Block.DAILY_LIMIT, "The daily limit", default=None),
        require_reason="require_reason" in options,
        revocation_enabled="revocation_enabled" in options,
        requesters_everyone="requesters_everyone" in options,
        break_glass="break_glass" in options,
        escalate_to=str(values.get(Block.ESCALATE_TO.value, "")).strip() or None,
        max_extensions=_number(values, Block.MAX_EXTENSIONS, "Extensions per session", default=0) or 0,
        extend_without_approval="extend_without_approval" in options,
        requester_ids=tuple(values.get(Block.REQUESTERS.value) or ()),
        requester_group=requester_group,
    )
    return AccountInput(spec=spec, editing=editing, parent=str(meta.get("parent") or "") or None)


def check_resource(form: ResourceInput, existing: Collection[str]) -> None:
    """Everything about a resource that can be refused without AWS."""
    name = validate_name("resource", form.name)
    parse_role_arn(form.role_arn, field=Block.ROLE_ARN.value)
    if not form.editing and name in existing:
        raise Conflict(f"A resource named {name} already exists; edit it from the list instead.",
                       field=Block.NAME.value)


def check_account(form: AccountInput, resources: Collection[str], existing: Collection[str]) -> None:
    """Everything about an account that can be refused without AWS."""
    spec = form.spec
    if spec.resource not in resources:
        raise NotFound("Choose one of the resources.", field=Block.RESOURCE.value)
    name = check_spec(spec).name
    exclusive = [p for p in approval_problems(spec.approval(), admins=frozenset()) if p.code == "approvers_and_group"]
    if exclusive:
        raise exclusive[0]
    if not form.editing and f"{spec.resource}/{name}" in existing:
        raise Conflict(f"{spec.resource}/{name} already exists; edit it from the list instead.",
                       field=Block.NAME.value)


def form_field(callback: str, error: PamError) -> str | None:
    """The block id of the form input an error is about (services and forms name a few inputs differently)."""
    return _FIELDS.get(callback, {}).get(error.field or "", error.field)


def error_block(view: dict[str, Any], error: PamError) -> str | None:
    """The input block of `view` an error belongs to; None when it belongs to none of them."""
    field = form_field(str(view.get("callback_id", "")), error)
    inputs = [b.get("block_id") for b in view.get("blocks") or () if b.get("type") == "input"]
    return field if field in inputs else None


def field_errors(view: dict[str, Any], error: PamError) -> dict[str, str]:
    """`response_action: errors` for an error: on its input, else on the form's first input."""
    inputs = [str(b.get("block_id")) for b in view.get("blocks") or () if b.get("type") == "input"]
    block = error_block(view, error) or (inputs[0] if inputs else Block.NAME.value)
    return {block: truncate(error.user_message, ERROR_TEXT_MAX)}


def _number(values: dict[str, Any], block: Block, label: str, *, default: int | None) -> int | None:
    text = str(values.get(block.value, "")).strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 4:
        raise InvalidInput(f"{label} is a whole number, such as 1 or 2.", field=block.value)
    return int(text)
