"""Approval policy: who may ask, who may decide, when a request is approved, when it approves itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import Conflict, InvalidInput, NotAllowed
from bot.domain.text import plural


@dataclass(frozen=True)
class Actor:
    """A Slack user as the rules see them."""

    user_id: str
    team_id: str
    is_bot: bool = False
    is_deleted: bool = False
    is_guest: bool = False
    is_stranger: bool = False


@dataclass(frozen=True)
class ApprovalPolicy:
    """How requests for one account are approved."""

    approver_ids: frozenset[str] = frozenset()
    approver_group: str | None = None
    approvals_required: int = 1
    auto_approve: bool = False
    auto_approve_daily_limit: int | None = None  # None: no limit
    require_reason: bool = False

    def __post_init__(self) -> None:
        required = self.approvals_required
        if required < 1:
            raise InvalidInput("At least 1 approval is required.", field="approvals_required")
        named = len(self.approver_ids)
        # With a group (or the admins as fallback) the number of approvers is only known at decision time.
        if named and not self.approver_group and required > named:
            raise InvalidInput(
                f"{plural(required, 'approval')} are required but only {plural(named, 'approver')} "
                f"{'is' if named == 1 else 'are'} named: name more approvers or require fewer approvals.",
                field="approvals_required")
        limit = self.auto_approve_daily_limit
        if limit is not None and limit < 1:
            raise InvalidInput("The daily auto-approval limit is at least 1; leave it empty for no limit.",
                               field="auto_approve_daily_limit")


def _refuse_unusual(actor: Actor, doing: str) -> None:
    if actor.is_bot:
        raise NotAllowed(f"Bots cannot {doing}.", code="actor_is_bot")
    if actor.is_deleted:
        raise NotAllowed(f"Deactivated Slack accounts cannot {doing}.", code="actor_is_deleted")
    if actor.is_stranger:
        raise NotAllowed(f"People from other organisations cannot {doing}; ask a member of this workspace.",
                         code="actor_is_stranger")
    if actor.is_guest:
        raise NotAllowed(f"Guest accounts cannot {doing}; ask a full member of this workspace.",
                         code="actor_is_guest")


def ensure_can_request(actor: Actor) -> None:
    """NotAllowed for bots, deactivated users and guests."""
    _refuse_unusual(actor, "request AWS access")


def ensure_can_decide(actor: Actor, *, requester_id: str, eligible: bool, already_decided: bool,
                      resource: str = "", account: str = "") -> None:
    """Whether `actor` may approve or deny a request for `resource/account`.

    The requester never decides their own request, whatever the configuration (even as an admin
    or a named approver); a second verdict from the same approver is a Conflict.
    """
    if actor.user_id == requester_id:
        raise NotAllowed("You cannot approve or deny your own request; cancel it with `/pam cancel` "
                         "if you no longer need it.", code="own_request")
    _refuse_unusual(actor, "approve or deny requests")
    if not eligible:
        target = f"{resource}/{account}" if resource and account else "this account"
        raise NotAllowed(f"You are not an approver for {target}.", code="not_approver")
    if already_decided:
        raise Conflict("You have already decided on this request.", code="already_decided")


class Outcome(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class Tally:
    """The verdicts so far and what they add up to."""

    approvals: int
    denials: int
    required: int
    outcome: Outcome

    @property
    def progress(self) -> str:
        """`1 of 2 approvals`."""
        return f"{self.approvals} of {plural(self.required, 'approval')}"


def tally(approvals: int, denials: int, required: int) -> Tally:
    """One denial denies; otherwise `required` approvals approve."""
    if approvals < 0 or denials < 0 or required < 1:
        raise ValueError(f"bad tally {approvals}/{denials}/{required}")
    if denials:
        outcome = Outcome.DENIED
    elif approvals >= required:
        outcome = Outcome.APPROVED
    else:
        outcome = Outcome.PENDING
    return Tally(approvals, denials, required, outcome)


def counts_grants(policy: ApprovalPolicy) -> bool:
    """Whether `should_auto_approve` needs the requester's grants of the last day (a limited auto-approval): for
    any other policy its answer is the same whatever the count, which is then not read."""
    return policy.auto_approve and policy.auto_approve_daily_limit is not None


def should_auto_approve(policy: ApprovalPolicy, grants_today: int) -> bool:
    """Auto-approval applies while the requester's grants in the last day stay under the daily limit."""
    if not policy.auto_approve:
        return False
    return policy.auto_approve_daily_limit is None or grants_today < policy.auto_approve_daily_limit
