"""Who may ask, who may decide, and how verdicts add up."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.errors import Conflict, InvalidInput, NotAllowed
from bot.domain.policy import (
    Actor, ApprovalPolicy, Outcome, Tally, counts_grants, ensure_can_decide, ensure_can_request,
    should_auto_approve, tally,
)

ALICE = Actor("U_ALICE", "T1")
BOB = Actor("U_BOB", "T1")


def test_policy_defaults_and_immutability() -> None:
    policy = ApprovalPolicy(approver_ids=frozenset({"U1"}), approver_group=None)
    assert (policy.approvals_required, policy.auto_approve, policy.require_reason) == (1, False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.approvals_required = 2  # type: ignore[misc]


@pytest.mark.parametrize("kwargs", [
    dict(approver_ids=frozenset({"U1", "U2"}), approver_group=None, approvals_required=2),
    dict(approver_ids=frozenset({"U1"}), approver_group="S1", approvals_required=3),
    dict(approver_ids=frozenset(), approver_group="S1", approvals_required=5),
    dict(approver_ids=frozenset(), approver_group=None, approvals_required=2),  # admins decide
    dict(approver_ids=frozenset(), approver_group=None, auto_approve=True, auto_approve_daily_limit=3),
])
def test_valid_policies(kwargs: dict) -> None:
    ApprovalPolicy(**kwargs)


@pytest.mark.parametrize(("kwargs", "field", "says"), [
    (dict(approver_ids=frozenset({"U1"}), approver_group=None, approvals_required=0), "approvals_required",
     "At least 1 approval"),
    (dict(approver_ids=frozenset({"U1"}), approver_group=None, approvals_required=2), "approvals_required",
     "2 approvals are required but only 1 approver is named"),
    (dict(approver_ids=frozenset({"U1", "U2"}), approver_group="", approvals_required=3), "approvals_required",
     "only 2 approvers are named"),
    (dict(approver_ids=frozenset(), approver_group=None, auto_approve_daily_limit=0),
     "auto_approve_daily_limit", "at least 1"),
])
def test_invalid_policies(kwargs: dict, field: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ApprovalPolicy(**kwargs)
    assert caught.value.field == field
    assert says in caught.value.user_message


@pytest.mark.parametrize(("actor", "code"), [
    (Actor("U1", "T1", is_bot=True), "actor_is_bot"),
    (Actor("U1", "T1", is_deleted=True), "actor_is_deleted"),
    (Actor("U1", "T1", is_guest=True), "actor_is_guest"),
])
def test_unusual_actors_cannot_request(actor: Actor, code: str) -> None:
    with pytest.raises(NotAllowed) as caught:
        ensure_can_request(actor)
    assert caught.value.code == code
    assert "cannot request" in caught.value.user_message


def test_members_can_request() -> None:
    ensure_can_request(ALICE)


def decide(actor: Actor, **overrides) -> None:
    kwargs = dict(requester_id=ALICE.user_id, eligible=True, already_decided=False, resource="prod-aws",
                  account="readonly")
    ensure_can_decide(actor, **{**kwargs, **overrides})


def test_an_eligible_approver_may_decide() -> None:
    decide(BOB)


@pytest.mark.parametrize("overrides", [{}, {"eligible": True}, {"already_decided": True}])
def test_the_requester_never_decides_their_own_request(overrides: dict) -> None:
    with pytest.raises(NotAllowed) as caught:
        decide(ALICE, **overrides)
    assert caught.value.code == "own_request"
    assert "your own request" in caught.value.user_message


@pytest.mark.parametrize(("actor", "code"), [
    (Actor("U_BOB", "T1", is_bot=True), "actor_is_bot"),
    (Actor("U_BOB", "T1", is_deleted=True), "actor_is_deleted"),
    (Actor("U_BOB", "T1", is_guest=True), "actor_is_guest"),
])
def test_unusual_actors_cannot_decide(actor: Actor, code: str) -> None:
    with pytest.raises(NotAllowed) as caught:
        decide(actor)
    assert caught.value.code == code


def test_not_eligible_names_the_account() -> None:
    with pytest.raises(NotAllowed, match="You are not an approver for prod-aws/readonly."):
        decide(BOB, eligible=False)
    with pytest.raises(NotAllowed, match="You are not an approver for this account."):
        decide(BOB, eligible=False, resource="", account="")


def test_a_second_verdict_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="already decided"):
        decide(BOB, already_decided=True)


@pytest.mark.parametrize(("approvals", "denials", "required", "outcome", "progress"), [
    (0, 0, 1, Outcome.PENDING, "0 of 1 approval"),
    (1, 0, 1, Outcome.APPROVED, "1 of 1 approval"),
    (1, 0, 2, Outcome.PENDING, "1 of 2 approvals"),
    (2, 0, 2, Outcome.APPROVED, "2 of 2 approvals"),
    (3, 0, 2, Outcome.APPROVED, "3 of 2 approvals"),
    (0, 1, 1, Outcome.DENIED, "0 of 1 approval"),
    (1, 1, 2, Outcome.DENIED, "1 of 2 approvals"),
    (2, 1, 2, Outcome.DENIED, "2 of 2 approvals"),  # one denial denies
])
def test_tally(approvals: int, denials: int, required: int, outcome: Outcome, progress: str) -> None:
    result = tally(approvals, denials, required)
    assert result == Tally(approvals, denials, required, outcome)
    assert result.outcome is outcome
    assert result.progress == progress


@pytest.mark.parametrize("args", [(-1, 0, 1), (0, -1, 1), (0, 0, 0)])
def test_tally_refuses_nonsense(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        tally(*args)


def test_outcome_values() -> None:
    assert [o.value for o in Outcome] == ["pending", "approved", "denied"]


@pytest.mark.parametrize(("auto", "limit", "grants_today", "expected"), [
    (False, None, 0, False), (False, 5, 0, False),
    (True, None, 0, True), (True, None, 1000, True),
    (True, 2, 0, True), (True, 2, 1, True), (True, 2, 2, False), (True, 2, 3, False),
])
def test_should_auto_approve(auto: bool, limit: int | None, grants_today: int, expected: bool) -> None:
    policy = ApprovalPolicy(approver_ids=frozenset(), approver_group=None, auto_approve=auto,
                            auto_approve_daily_limit=limit)
    assert should_auto_approve(policy, grants_today) is expected


@pytest.mark.parametrize(("auto", "limit"), [(False, None), (False, 5), (True, None), (True, 2)])
def test_the_days_grants_are_counted_only_for_a_limited_auto_approval(auto: bool, limit: int | None) -> None:
    policy = ApprovalPolicy(approver_ids=frozenset(), approver_group=None, auto_approve=auto,
                            auto_approve_daily_limit=limit)
    assert counts_grants(policy) is (auto and limit is not None)
    if not counts_grants(policy):  # the answer does not depend on a count nobody reads
        assert len({should_auto_approve(policy, grants) for grants in (0, 1, 2, 1000)}) == 1
