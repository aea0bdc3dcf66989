"""Deciding on a request: one approver's verdict, recorded and tallied."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.domain.errors import Conflict
from bot.domain.policy import Outcome, ensure_can_decide, tally
from bot.domain.states import RequestStatus
from bot.services.base import Tx
from bot.services.lookups import actor_of
from bot.services.ports import Person
from storage.models import AccessRequest, Decision


def record_decision(tx: Tx, request: AccessRequest, person: Person, approve: bool, reason: str,
                    eligible: bool, *, claim: bool = False) -> tuple[Outcome, list[Decision]]:
    """One approver's verdict; the request changes state only for the caller whose conditional update lands.
    Returns the outcome and the request's decisions, this one last (the caller's view needs them).

    `claim`: an approval is also the grant's claim (`GrantService.claim_in`'s counted attempt), set by the
    same UPDATE that approves: the caller grants it next, and any other worker finds the attempt taken."""
    if request.status != RequestStatus.PENDING:
        raise Conflict(f"Request {request.ref} is already {request.status}.")
    # One denial, or the one approval a request needs, decides it: a pending request that needs one has no
    # decisions yet, and only one that needs several is read for them.
    decisions = list(tx.requests.decisions(request.id)) if request.approvals_required > 1 else []
    ensure_can_decide(actor_of(person), requester_id=request.requester_id, eligible=eligible,
                      already_decided=any(d.approver_id == person.user_id for d in decisions),
                      resource=request.resource_name, account=request.account_name)
    try:  # no savepoint: the caller holds the request's row lock, and a failure here ends its transaction anyway
        decision = Decision(request_id=request.id, approver_id=person.user_id, team_id=person.team_id,
                            verdict="approve" if approve else "deny", reason=reason.strip(), created_at=tx.now)
        tx.requests.add_decision(decision)
    except IntegrityError as error:
        raise Conflict("You have already decided on this request.") from error
    approvals = sum(d.verdict == "approve" for d in decisions) + approve
    denials = sum(d.verdict == "deny" for d in decisions) + (not approve)
    outcome = tally(approvals, denials, request.approvals_required).outcome
    if outcome is not Outcome.PENDING:
        new = RequestStatus.APPROVED if outcome is Outcome.APPROVED else RequestStatus.DENIED
        counted = {"grant_attempts": request.grant_attempts + 1} if claim and new is RequestStatus.APPROVED else {}
        if not tx.requests.transition(request.id, RequestStatus.PENDING, new, decided_at=tx.now, updated_at=tx.now,
                                      **counted):
            raise Conflict(f"Request {request.ref} was decided by someone else a moment ago.")
    tx.audit(person.user_id, "request.approve" if approve else "request.deny", request.ref,
             reason=reason.strip(), approvals=approvals, required=request.approvals_required,
             request_status=outcome.value)
    return outcome, [*decisions, decision]
