"""Who can approve an account, decided before it is saved; Slack ids by shape."""

from __future__ import annotations

import pytest

from bot.domain.approvable import ApprovalSettings, approval_problems
from bot.domain.errors import InvalidInput
from bot.domain.slack_ids import slack_id

ADMINS = frozenset({"UADMIN01"})


@pytest.mark.parametrize("said, admins, group_size, codes", [
    (ApprovalSettings(approver_ids=frozenset({"U0A1"})), frozenset(), None, []),
    (ApprovalSettings(approver_group="S0GRP"), frozenset(), None, []),
    (ApprovalSettings(), ADMINS, None, []),
    (ApprovalSettings(auto_approve=True), frozenset(), None, []),
    (ApprovalSettings(), frozenset(), None, ["nobody_approves"]),
    (ApprovalSettings(auto_approve=True, auto_approve_daily_limit=2), frozenset(), None, ["nobody_approves"]),
    (ApprovalSettings(approver_ids=frozenset({"U0A1"}), approver_group="S0GRP"), ADMINS, None,
     ["approvers_and_group"]),
    (ApprovalSettings(approvals_required=2), ADMINS, None, ["too_few_approvers"]),
    (ApprovalSettings(approver_group="S0GRP", approvals_required=2), ADMINS, 1, ["too_few_approvers"]),
    (ApprovalSettings(approver_group="S0GRP", approvals_required=2), ADMINS, None, []),
    (ApprovalSettings(approver_group="S0GRP"), ADMINS, 0, ["too_few_approvers"]),
])
def test_approval_problems(said: ApprovalSettings, admins: frozenset[str], group_size: int | None,
                           codes: list[str]) -> None:
    assert [p.code for p in approval_problems(said, admins=admins, group_size=group_size)] == codes


@pytest.mark.parametrize("kind, good, bad", [
    ("user", ["U012ABCDE", "W012ABCDE"], ["bob", "U1", "S012ABCDE", "u012abcde", "<@U012ABCDE>"]),
    ("group", ["S012ABCDE"], ["S1", "engineers", "U012ABCDE"]),
    ("channel", ["C012ABCDE", "G012ABCDE"], ["general", "#general", "D012ABCDE", "C1"]),
])
def test_slack_ids_by_shape(kind: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert slack_id(kind, value, field="f") == value
    for value in bad:
        with pytest.raises(InvalidInput, match=f"not a Slack {kind} id"):
            slack_id(kind, value, field="f")
