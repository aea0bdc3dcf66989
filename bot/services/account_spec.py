"""What an admin says about an account (AccountSpec) and every check of it that needs neither AWS nor the database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.approvable import ApprovalSettings, approval_problems
from bot.domain.arns import parse_role_arn
from bot.domain.durations import format_duration, parse_duration
from bot.domain.eligibility import Requesters
from bot.domain.errors import InvalidInput
from bot.domain.names import validate_name
from bot.domain.policy import ApprovalPolicy
from bot.domain.slack_ids import optional, user_ids
from bot.domain.text import quote
from bot.services.read_models import AccountRead
from storage.models import Account


@dataclass(frozen=True)
class AccountSpec:
    """Everything an admin says about an account, as typed in a modal, on the command line or in a file."""

    resource: str
    name: str
    role_arn: str
    duration: str = "1h"
    description: str = ""
    approver_ids: tuple[str, ...] = ()
    approver_group: str | None = None
    approvals_required: int = 1
    approval_channel: str | None = None
    auto_approve: bool = False
    auto_approve_daily_limit: int | None = None
    require_reason: bool = False
    revocation_enabled: bool = False
    requesters_everyone: bool = False
    requester_ids: tuple[str, ...] = ()
    requester_group: str | None = None
    break_glass: bool = False
    escalate_to: str | None = None  # a channel (C…/G…) or user group (S…) the last reminder wakes
    max_extensions: int = 0
    extend_without_approval: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def requesters(self) -> Requesters:
        """Who may ask, as said; saying nobody is refused (an account must say it explicitly)."""
        said = Requesters(everyone=self.requesters_everyone, user_ids=frozenset(self.requester_ids),
                          group=(self.requester_group or "").strip() or None)
        if said.nobody:
            raise InvalidInput("Say who may request this account: named people, a user group, or everyone.",
                               field="requesters")
        return said

    def approval(self) -> ApprovalSettings:
        return ApprovalSettings(approver_ids=frozenset(self.approver_ids), approver_group=self.approver_group or None,
                                approvals_required=self.approvals_required, auto_approve=self.auto_approve,
                                auto_approve_daily_limit=self.auto_approve_daily_limit)


@dataclass(frozen=True)
class CheckedAccount:
    """An AccountSpec whose every value was read and checked."""

    name: str
    arn: str
    duration: int
    requesters: Requesters
    policy: ApprovalPolicy


def check_spec(spec: AccountSpec) -> CheckedAccount:
    """Names, ARN, duration, Slack ids by shape, requesters and the approval policy; InvalidInput on the first
    problem (its field names the input)."""
    name = validate_name("account", spec.name)
    arn = parse_role_arn(spec.role_arn.strip(), field="role_arn").arn
    duration = parse_duration(spec.duration)
    user_ids(spec.approver_ids, field="approvers")
    optional("group", spec.approver_group, field="approver_group")
    optional("channel", spec.approval_channel, field="approval_channel")
    requesters = spec.requesters()
    escalation(spec.escalate_to)
    if not 0 <= spec.max_extensions <= 10:
        raise InvalidInput("Extensions per session are 0 to 10.", field="max_extensions")
    policy = ApprovalPolicy(
        approver_ids=frozenset(spec.approver_ids), approver_group=spec.approver_group or None,
        approvals_required=spec.approvals_required, auto_approve=spec.auto_approve,
        auto_approve_daily_limit=spec.auto_approve_daily_limit, require_reason=spec.require_reason,
    )
    return CheckedAccount(name, arn, duration, requesters, policy)


def spec_of(resource: str, account: Account | AccountRead) -> AccountSpec:
    """The form's values of a saved account."""
    return AccountSpec(
        resource=resource, name=account.name, role_arn=account.role_arn,
        duration=format_duration(account.default_duration_seconds), description=account.description or "",
        approver_ids=tuple(account.approver_ids or ()), approver_group=account.approver_group,
        approvals_required=account.approvals_required, approval_channel=account.approval_channel,
        auto_approve=account.auto_approve, auto_approve_daily_limit=account.auto_approve_daily_limit,
        require_reason=account.require_reason, revocation_enabled=account.revocation_enabled,
        requesters_everyone=account.requesters_everyone, requester_ids=tuple(account.requester_ids or ()),
        requester_group=account.requester_group, break_glass=account.break_glass, escalate_to=account.escalate_to,
        max_extensions=account.max_extensions, extend_without_approval=account.extend_without_approval)


def fill(row: Account, spec: AccountSpec, checked: CheckedAccount) -> None:
    """Write a checked spec onto an account row."""
    policy, requesters = checked.policy, checked.requesters
    row.name, row.role_arn, row.default_duration_seconds = checked.name, checked.arn, checked.duration
    row.description = spec.description.strip()
    row.approver_ids = sorted(policy.approver_ids)
    row.approver_group = policy.approver_group
    row.approvals_required = policy.approvals_required
    row.approval_channel = spec.approval_channel or None
    row.auto_approve = policy.auto_approve
    row.auto_approve_daily_limit = policy.auto_approve_daily_limit
    row.require_reason = policy.require_reason
    row.revocation_enabled = spec.revocation_enabled
    row.requesters_everyone = requesters.everyone
    row.requester_ids = sorted(requesters.user_ids)
    row.requester_group = requesters.group
    row.break_glass = spec.break_glass
    row.escalate_to = spec.escalate_to or None
    row.max_extensions = spec.max_extensions
    row.extend_without_approval = spec.extend_without_approval


def saved_problems(spec: AccountSpec, *, admins: frozenset[str]) -> list[InvalidInput]:
    """What is wrong with an account saved before today's checks: ids of the wrong shape, and nobody (or too few
    people) able to approve it (the doctor reports these)."""
    problems: list[InvalidInput] = []
    for check in (lambda: user_ids(spec.approver_ids, field="approvers"),
                  lambda: optional("group", spec.approver_group, field="approver_group"),
                  lambda: optional("channel", spec.approval_channel, field="approval_channel"),
                  spec.requesters):
        try:
            check()
        except InvalidInput as error:
            problems.append(error)
    return problems + approval_problems(spec.approval(), admins=admins)


def escalation(target: str | None) -> None:
    """An escalation target is a channel (C…, G…) or a user group (S…), by id; InvalidInput otherwise."""
    if target and not re.fullmatch(r"[CGS][A-Z0-9]{2,31}", target):
        raise InvalidInput(f"Escalate to a channel (C…) or a user group (S…) by its id, not {quote(target)}.",
                           field="escalate_to")
