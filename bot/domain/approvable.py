"""Whether anyone can ever approve an account's requests: checked before saving, and by the doctor afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.text import plural


@dataclass(frozen=True)
class ApprovalSettings:
    """What an account says about approving its requests."""

    approver_ids: frozenset[str] = frozenset()
    approver_group: str | None = None
    approvals_required: int = 1
    auto_approve: bool = False
    auto_approve_daily_limit: int | None = None


def approval_problems(said: ApprovalSettings, *, admins: frozenset[str],
                      group_size: int | None = None) -> list[InvalidInput]:
    """Every reason nobody (or too few people) could approve; `group_size` None when the group was not read.

    Named approvers and an approver group exclude each other: requests would otherwise go to a set of people
    nobody wrote down. The admins approve only an account that names neither.
    """
    problems: list[InvalidInput] = []
    people, group = said.approver_ids, said.approver_group
    if people and group:
        problems.append(InvalidInput(
            "Name approvers or an approver group, not both: requests go to the named people, or to the group's "
            "members.", field="approver_group", code="approvers_and_group"))
    if said.auto_approve and said.auto_approve_daily_limit is None:
        return problems  # every request approves itself; nobody needs to
    if not people and not group and not admins:
        problems.append(InvalidInput(
            "Nobody could approve requests for this account: it names no approvers and no approver group, does not "
            "auto-approve, and pam-bot has no admins. Name approvers or an approver group, or add an admin "
            "(PAM_ADMINS).", field="approvers", code="nobody_approves"))
        return problems
    possible, who, many = (len(people), "named approver", None) if people else \
        (group_size, "member of the approver group", "members of the approver group") if group else \
        (len(admins), "pam-bot admin", None)
    if possible is not None and said.approvals_required > possible:
        problems.append(InvalidInput(
            f"{plural(said.approvals_required, 'approval')} are required but there "
            f"{'is' if possible == 1 else 'are'} only {plural(possible, who, many)}: require fewer approvals or name more "
            "approvers.", field="approvals_required", code="too_few_approvers"))
    return problems


def ensure_approvable(said: ApprovalSettings, *, admins: frozenset[str], group_size: int | None = None) -> None:
    """InvalidInput with the first problem `approval_problems` finds."""
    problems = approval_problems(said, admins=admins, group_size=group_size)
    if problems:
        raise problems[0]
