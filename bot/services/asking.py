"""Asking for an account: the checks an ask must pass and the request row it becomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.domain.durations import format_duration, parse_duration
from bot.domain.eligibility import Eligibility
from bot.domain.errors import Conflict, InvalidInput, NotAllowed
from bot.domain.policy import counts_grants, should_auto_approve
from bot.domain.states import RequestStatus
from bot.domain.text import has_visible_text
from bot.services.base import Tx
from bot.services.break_glass import ensure_break_glass
from bot.services.lookups import find_account, policy_of, unused_ref
from bot.services.ports import Person
from storage.models import AccessRequest, Account, Resource


CLOCK_SKEW = timedelta(seconds=2)  # the web host that recorded an ask and the worker's host may disagree this much


class ReasonRequired(InvalidInput):
    """The account wants a reason and none was given: the listener opens the request modal."""

    code = "reason_required"


Found = tuple[Resource, Account]
# Whether the person may ask for the account the ask's transaction found (None: no such account): the decision, or
# a refusal (raised); asked before anything else is checked, so someone who may not ask learns nothing more.
Judge = Callable[[Found | None], Eligibility]


def validate(tx: Tx, person: Person, resource: str, account: str, duration: str | None,
             reason: str, *, found: Found | None = None) -> tuple[Resource, Account, int]:
    """Everything that refuses an ask, read in the transaction that would create it (`found`: read already)."""
    res, acc = found if found is not None else find_account(tx, resource, account)
    seconds = (parse_duration(duration, maximum_seconds=acc.default_duration_seconds)
               if duration else acc.default_duration_seconds)
    named = set(acc.approver_ids or ()) - {person.user_id}
    if not acc.auto_approve and acc.approver_ids and not acc.approver_group \
            and len(named) < acc.approvals_required:
        raise NotAllowed(f"{res.name}/{acc.name} needs {acc.approvals_required} approvers other than you, "
                         f"and only {len(named)} are named. Ask an admin to add approvers.")
    if acc.require_reason and not has_visible_text(reason):
        raise ReasonRequired(f"{res.name}/{acc.name} needs a reason.", field="reason")
    existing = tx.requests.open_for(person.user_id, acc.id)
    if existing is not None:
        raise Conflict(f"You already have request {existing.ref} ({existing.status}) for "
                       f"{res.name}/{acc.name}. Cancel it with `/pam cancel {existing.ref}` to ask again.")
    return res, acc, seconds

def asked_before(tx: Tx, person: Person, resource: str, account: str, acked_at: datetime | None) -> AccessRequest | None:
    """A replayed ask (its first worker died after acting, before marking it done): the request it made then.

    `acked_at` is when the web path recorded the ask; None for an ask handled the first time.
    """
    if acked_at is None:
        return None
    tx.lock(_ask_lock(person, resource, account))
    _, acc = find_account(tx, resource, account)
    return tx.requests.asked_since(person.user_id, acc.id, acked_at - CLOCK_SKEW)


def extension_asked_before(tx: Tx, person: Person, session_ref: str,
                           acked_at: datetime | None) -> AccessRequest | None:
    """A replayed Extend click (its first worker died after acting, before marking it done): the extension it
    asked for then. Looked for before anything else, since that extension may have ended the session it extends."""
    if acked_at is None:
        return None
    session = tx.sessions.by_ref(session_ref)
    if session is None or session.requester_id != person.user_id:
        return None
    tx.lock(_ask_lock(person, session.resource_name, session.account_name))
    return tx.requests.extension_since(session.ref, acked_at - CLOCK_SKEW)


def _ask_lock(person: Person, resource: str, account: str) -> str:
    return f"ask:{person.user_id}:{resource.lower()}/{account.lower()}"


def new_request(tx: Tx, person: Person, resource: str, account: str, duration: str | None, reason: str,
                judge: Judge, *, break_glass_limit: int, break_glass: bool = False,
                starts_at: datetime | None = None, extends: str | None = None,
                ) -> tuple[AccessRequest, tuple[Resource, Account]]:
    """The request row of an ask (pending, or approved when nobody needs to decide), audited, with its account.
    `judge` decides, first, whether the person may ask for the account read here."""
    # Asks by one person for one account queue here (every replica), so the open-request rule and the
    # daily auto-approval and break-glass limits are counted by one transaction at a time.
    tx.lock(_ask_lock(person, resource, account))
    found = tx.config.account(resource.lower(), account.lower())
    decision = judge(found)
    if break_glass:
        superseded = ensure_break_glass(tx, person.user_id, resource, account, limit=break_glass_limit)
    res, acc, seconds = validate(tx, person, resource, account, duration, reason, found=found)
    reason = reason.strip()
    policy = policy_of(acc)
    grants_today = tx.requests.granted_since(person.user_id, acc.id, tx.now - timedelta(days=1)) \
        if counts_grants(policy) else 0
    auto = break_glass or (extends is not None and acc.extend_without_approval) \
        or should_auto_approve(policy, grants_today)
    request = AccessRequest(
        ref=unused_ref(tx), requester_id=person.user_id, team_id=person.team_id, account_id=acc.id,
        resource_name=res.name, account_name=acc.name, resource_role_arn=res.role_arn,
        target_role_arn=acc.role_arn, duration_seconds=seconds, reason=reason,
        status=RequestStatus.APPROVED if auto else RequestStatus.PENDING, approvals_required=acc.approvals_required,
        auto_approved=auto and not break_glass, created_at=tx.now, updated_at=tx.now,
        decided_at=tx.now if auto else None, cards=[], break_glass=break_glass, starts_at=starts_at,
        extends=extends,
    )
    try:  # no savepoint: a conflict ends this transaction anyway, and the ask lock above makes it all but moot
        tx.requests.add(request)
    except IntegrityError as error:  # the one-open-request index: another ask got there first
        raise Conflict(f"You already have an open request for {res.name}/{acc.name}. "
                       "Cancel it with `/pam cancel` to ask again.") from error
    glass: dict[str, Any] = {"break_glass": True, "superseded": superseded} if break_glass else {}
    tx.audit(person.user_id, "request.break_glass" if break_glass else "request.create", request.ref,
             account=f"{res.name}/{acc.name}", duration=format_duration(seconds), reason=reason,
             auto_approved=request.auto_approved, eligible=decision.why.value,
             **glass,
             **({"starts_at": starts_at.isoformat()} if starts_at else {}),
             **({"extends": extends} if extends else {}))
    return request, (res, acc)
