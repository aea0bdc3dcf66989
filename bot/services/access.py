"""Access use-cases: ask for an account, decide on a request, cancel one's own request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.durations import format_duration, parse_duration
from bot.domain.eligibility import CheckFailed, Eligibility, eligibility, ensure_eligible
from bot.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound, NotifyFailed
from bot.domain.policy import Outcome, ensure_can_decide, ensure_can_request, should_auto_approve, tally
from bot.domain.schedule import start_at
from bot.domain.text import has_visible_text
from bot.services.approvers import requesters_of, resolve_approvers, who_can_help
from bot.services.base import Clock, Tx, UseCase
from bot.services.break_glass import BREAK_GLASS_DAILY_LIMIT, ensure_break_glass
from bot.services.extensions import extendable
from bot.services.grants import GrantService
from bot.services.lookups import GroupCache, actor_of, find_account, policy_of, unknown_account, unused_ref
from bot.services.ports import Directory, Notifier, Person, RequestView
from bot.services.views import load_view
from storage.models import AccessRequest, Account, Decision, Resource

log = logging.getLogger(__name__)


class ReasonRequired(InvalidInput):
    """The account wants a reason and none was given: the listener opens the request modal."""

    code = "reason_required"


class AccessService(UseCase):
    """What requesters and approvers do; grants are delegated to GrantService."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, directory: Directory, notifier: Notifier,
                 grants: GrantService, admin_ids: Callable[[], frozenset[str]],
                 break_glass_limit: int = BREAK_GLASS_DAILY_LIMIT, daily_cap_seconds: int = 8 * 3600) -> None:
        super().__init__(db=db, clock=clock)
        self.daily_cap_seconds = daily_cap_seconds
        self.break_glass_limit = break_glass_limit
        self.directory = directory
        self.notifier = notifier
        self.grants = grants
        self.admin_ids = admin_ids

    def submit(self, *, user_id: str, resource: str, account: str, duration: str | None,
               reason: str, start: str | None = None) -> RequestView:
        """Create a request; post its card, or grant at once when the account auto-approves. With `start`
        (`22:00`, in the person's Slack time zone) the grant waits for that moment once approved."""
        target = f"{resource}/{account}"
        with self.audited(user_id, "request.create", target):
            person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            starts_at = start_at(start, now=self.clock(), utc_offset_seconds=person.tz_offset) if start else None
            decision = self._ensure_eligible(user_id, resource, account)
            with self.transaction() as tx:
                request = self._new_request(tx, person, resource, account, duration, reason, decision,
                                            starts_at=starts_at)
                view = load_view(tx, request)
        log.info("request %s created by %s for %s", request.ref, user_id, target, extra={"request": request.ref})
        if request.status == "approved":
            return self._grant_or_wait(view)
        return self._post_cards(view)

    def _grant_or_wait(self, view: RequestView) -> RequestView:
        """Grant an approved request now, or — scheduled for later — tell the requester when it will start."""
        starts_at = view.request.starts_at
        if starts_at is None or starts_at <= self.clock():
            return self.grants.grant(view.request.id) or view
        self._safe(self.notifier.update_request_cards, view)
        self._safe(lambda v: self.notifier.tell_requester(v, "scheduled"), view)
        return view

    def break_glass(self, *, user_id: str, resource: str, account: str, duration: str | None,
                    reason: str) -> RequestView:
        """Grant at once, without approval, where the account allows break-glass; loud: a red card, a DM to every
        approver and admin, an audit event flagged `break_glass`, and a review owed afterwards."""
        target = f"{resource}/{account}"
        with self.audited(user_id, "request.break_glass", target):
            person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            decision = self._ensure_eligible(user_id, resource, account)
            with self.transaction() as tx:
                request = self._new_request(tx, person, resource, account, duration, reason, decision,
                                            break_glass=True)
                view = load_view(tx, request)
        log.warning("break-glass %s by %s on %s", request.ref, user_id, target, extra={"request": request.ref})
        view = self._announce_break_glass(view)
        return self.grants.grant(request.id) or view

    def extend(self, *, user_id: str, session_ref: str) -> RequestView:
        """Ask to continue an active session for the account's default duration: a new grant (new AssumeRoles, a
        new link), approved again unless the account says extensions need none."""
        with self.audited(user_id, "request.extend", session_ref):
            person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            with self.transaction() as tx:
                res, acc = extendable(tx, session_ref, user_id, daily_cap_seconds=self.daily_cap_seconds)
            decision = self._ensure_eligible(user_id, res.name, acc.name)
            with self.transaction() as tx:
                request = self._new_request(tx, person, res.name, acc.name, None, f"extension of {session_ref}",
                                            decision, extends=session_ref)
                view = load_view(tx, request)
        if request.status == "approved":
            return self._grant_or_wait(view)
        return self._post_cards(view)

    def check(self, *, user_id: str, resource: str, account: str, duration: str | None, reason: str,
              start: str | None = None) -> None:
        """Everything `submit` would refuse, without writing (a modal shows it as a field error)."""
        person = self.directory.person(user_id)
        ensure_can_request(actor_of(person))
        if start:
            start_at(start, now=self.clock(), utc_offset_seconds=person.tz_offset)
        self._ensure_eligible(user_id, resource, account)
        with self.transaction() as tx:
            self._validate(tx, person, resource, account, duration, reason)

    def decide(self, *, user_id: str, ref: str, approve: bool, reason: str = "", replay: bool = False) -> RequestView:
        """Record one approver's verdict; the request changes state only for the caller whose update lands.

        `replay`: the same click handled again because the worker handling it died; if its approval had
        been recorded, the requester hears of the delay and the grant is finished (its claim is conditional)."""
        if replay and approve:
            resumed = self._resume(user_id, ref)
            if resumed is not None:
                return resumed
        action = "request.approve" if approve else "request.deny"
        with self.audited(user_id, action, ref):
            person = self.directory.person(user_id)
            eligible = self._may_decide(ref, user_id)
            with self.transaction() as tx:
                request = tx.requests.by_ref(ref, lock=True)
                if request is None:
                    raise NotFound(f"There is no request {ref}.")
                outcome = self._record_decision(tx, request, person, approve, reason, eligible)
                view = load_view(tx, request)
        log.info("request %s: %s by %s, now %s", ref, "approve" if approve else "deny", user_id, outcome.value,
                 extra={"request": ref})
        self._safe(self.notifier.update_request_cards, view)
        if outcome is Outcome.DENIED:
            self._safe(lambda v: self.notifier.tell_requester(v, "denied"), view)
        if outcome is Outcome.APPROVED:
            return self._grant_or_wait(view)
        return view

    def _resume(self, user_id: str, ref: str) -> RequestView | None:
        with self.transaction() as tx:
            request = tx.requests.by_ref(ref)
            if request is None or request.status != "approved" or not any(
                    d.approver_id == user_id and d.verdict == "approve" for d in tx.requests.decisions(request.id)):
                return None
            tx.audit("pam-bot", "request.resumed", ref, approver=user_id)
            view = load_view(tx, request)
        log.warning("request %s: resuming a grant a stopped worker left", ref, extra={"request": ref})
        self._safe(lambda v: self.notifier.tell_requester(v, "delayed"), view)
        return self.grants.grant(request.id) or view

    def cancel(self, *, user_id: str, ref: str) -> RequestView:
        """Withdraw one's own pending request, or an approved one whose scheduled start has not come."""
        with self.audited(user_id, "request.cancel", ref):
            with self.transaction() as tx:
                request = tx.requests.by_ref(ref)
                if request is None or request.requester_id != user_id:
                    raise NotFound(f"You have no request {ref}.")
                waiting = request.status == "approved" and request.starts_at is not None and request.starts_at > tx.now
                if not tx.requests.transition(request.id, "approved" if waiting else "pending", "cancelled",
                                              updated_at=tx.now):
                    raise Conflict(f"Request {ref} is already {request.status}; only pending requests, and approved "
                                   "ones whose start has not come, can be cancelled.")
                tx.audit(user_id, "request.cancel", ref)
                view = load_view(tx, request)
        self._safe(self.notifier.update_request_cards, view)
        return view

    def catalog(self, user_id: str) -> list[tuple[Resource, Account]]:
        """The accounts `user_id` may ask for; one whose requester group cannot be read is left out."""
        with self.transaction() as tx:
            rows = list(tx.config.accounts())
        groups = GroupCache(self.directory)
        visible = []
        for res, acc in rows:
            try:
                if eligibility(requesters_of(acc), user_id, group_members=groups.group_members).eligible:
                    visible.append((res, acc))
            except CheckFailed:
                continue
        return visible

    def _ensure_eligible(self, user_id: str, resource: str, account: str) -> Eligibility:
        """NotAllowed (naming who can help) unless `user_id` may ask for the account; audited by the caller."""
        with self.transaction() as tx:
            found = tx.config.account(resource.lower(), account.lower())
        if found is None:
            raise unknown_account(resource, account, [f"{r.name}/{a.name}" for r, a in self.catalog(user_id)])
        res, acc = found
        decision = eligibility(requesters_of(acc), user_id, group_members=self.directory.group_members)
        ensure_eligible(decision, target=f"`{res.name}/{acc.name}`", helpers=who_can_help(acc))
        return decision

    def _may_decide(self, ref: str, user_id: str) -> bool:
        with self.transaction() as tx:
            request = tx.requests.by_ref(ref)
            view = load_view(tx, request) if request else None
        if view is None:
            return False
        try:
            approvers = resolve_approvers(view.approver_ids, view.approver_group, directory=self.directory,
                                          admin_ids=self.admin_ids)
        except CheckFailed:
            if view.request.status == "pending":
                self._safe(lambda v: self.notifier.tell_approvers(v, "approvers_unreadable"), view)
            raise
        return user_id in approvers

    def _validate(self, tx: Tx, person: Person, resource: str, account: str, duration: str | None,
                  reason: str) -> tuple[Resource, Account, int]:
        res, acc = find_account(tx, resource, account)
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

    def _new_request(self, tx: Tx, person: Person, resource: str, account: str, duration: str | None,
                     reason: str, decision: Eligibility, *, break_glass: bool = False,
                     starts_at: datetime | None = None, extends: str | None = None) -> AccessRequest:
        # Asks by one person for one account queue here (every replica), so the open-request rule and the
        # daily auto-approval and break-glass limits are counted by one transaction at a time.
        tx.lock(f"ask:{person.user_id}:{resource.lower()}/{account.lower()}")
        if break_glass:
            superseded = ensure_break_glass(tx, person.user_id, resource, account, limit=self.break_glass_limit)
        res, acc, seconds = self._validate(tx, person, resource, account, duration, reason)
        reason = reason.strip()
        grants_today = tx.requests.granted_since(person.user_id, acc.id, tx.now - timedelta(days=1))
        auto = break_glass or (extends is not None and acc.extend_without_approval) \
            or should_auto_approve(policy_of(acc), grants_today)
        request = AccessRequest(
            ref=unused_ref(tx), requester_id=person.user_id, team_id=person.team_id, account_id=acc.id,
            resource_name=res.name, account_name=acc.name, resource_role_arn=res.role_arn,
            target_role_arn=acc.role_arn, duration_seconds=seconds, reason=reason,
            status="approved" if auto else "pending", approvals_required=acc.approvals_required,
            auto_approved=auto and not break_glass, created_at=tx.now, updated_at=tx.now,
            decided_at=tx.now if auto else None, cards=[], break_glass=break_glass, starts_at=starts_at,
            extends=extends,
        )
        try:
            with tx.session.begin_nested():
                tx.requests.add(request)
        except IntegrityError as error:  # the one-open-request index: another ask got there first
            raise Conflict(f"You already have an open request for {res.name}/{acc.name}. "
                           "Cancel it with `/pam cancel` to ask again.") from error
        tx.audit(person.user_id, "request.break_glass" if break_glass else "request.create", request.ref,
                 account=f"{res.name}/{acc.name}", duration=format_duration(seconds), reason=reason,
                 auto_approved=request.auto_approved, eligible=decision.why.value,
                 **({"break_glass": True, "superseded": superseded} if break_glass else {}),
                 **({"starts_at": starts_at.isoformat()} if starts_at else {}),
                 **({"extends": extends} if extends else {}))
        return request

    def _announce_break_glass(self, view: RequestView) -> RequestView:
        """The red card where approval cards go and a DM to every approver and admin; a Slack failure is logged
        and audited, never a reason to hold back an emergency grant."""
        try:
            cards = self.notifier.post_request_cards(view)
        except NotifyFailed as error:
            self.record("pam-bot", "request.card", view.request.ref, "failed", code=error.code,
                        detail=error.detail or "", break_glass=True)
            cards = []
        self._safe(self.notifier.alert_break_glass, view)
        with self.transaction() as tx:
            request = tx.requests.by_id(view.request.id)
            assert request is not None
            request.cards = cards
            return load_view(tx, request)

    def _record_decision(self, tx: Tx, request: AccessRequest, person: Person, approve: bool, reason: str,
                         eligible: bool) -> Outcome:
        if request.status != "pending":
            raise Conflict(f"Request {request.ref} is already {request.status}.")
        decisions = tx.requests.decisions(request.id)
        ensure_can_decide(actor_of(person), requester_id=request.requester_id, eligible=eligible,
                          already_decided=any(d.approver_id == person.user_id for d in decisions),
                          resource=request.resource_name, account=request.account_name)
        try:
            with tx.session.begin_nested():
                tx.requests.add_decision(Decision(
                    request_id=request.id, approver_id=person.user_id, team_id=person.team_id,
                    verdict="approve" if approve else "deny", reason=reason.strip(), created_at=tx.now))
        except IntegrityError as error:
            raise Conflict("You have already decided on this request.") from error
        approvals = sum(d.verdict == "approve" for d in decisions) + approve
        denials = sum(d.verdict == "deny" for d in decisions) + (not approve)
        outcome = tally(approvals, denials, request.approvals_required).outcome
        if outcome is not Outcome.PENDING:
            new = "approved" if outcome is Outcome.APPROVED else "denied"
            if not tx.requests.transition(request.id, "pending", new, decided_at=tx.now, updated_at=tx.now):
                raise Conflict(f"Request {request.ref} was decided by someone else a moment ago.")
        tx.audit(person.user_id, "request.approve" if approve else "request.deny", request.ref,
                 reason=reason.strip(), approvals=approvals, required=request.approvals_required,
                 request_status=outcome.value)
        return outcome

    def _post_cards(self, view: RequestView) -> RequestView:
        try:
            cards = self.notifier.post_request_cards(view)
        except NotifyFailed as error:
            with self.transaction() as tx:
                tx.requests.transition(view.request.id, "pending", "cancelled", updated_at=tx.now,
                                       failure_code=error.code, failure_message=error.user_message)
                tx.audit("pam-bot", "request.card", view.request.ref, "failed", code=error.code,
                         detail=error.detail or "")
            raise NotifyFailed(f"Request {view.request.ref} is cancelled: its approval card could not be posted. "
                               f"{error.user_message}", code=error.code, detail=error.detail) from error
        with self.transaction() as tx:
            request = tx.requests.by_id(view.request.id)
            assert request is not None
            request.cards = cards
            return load_view(tx, request)

    def _safe(self, send: Callable[[RequestView], None], view: RequestView) -> None:
        try:
            send(view)
        except NotifyFailed as error:
            log.warning("could not update Slack for %s: %s", view.request.ref, error.detail or error.code)

