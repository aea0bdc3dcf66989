"""Access use-cases: ask for an account, decide on a request, cancel one's own request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.eligibility import CheckFailed, Eligibility, eligibility, ensure_eligible
from bot.domain.errors import Conflict, NotFound, NotifyFailed
from bot.domain.ids import new_session_ref
from bot.domain.policy import Outcome, ensure_can_request
from bot.domain.schedule import start_at
from bot.domain.states import RequestStatus
from bot.services.approvers import requesters_of, resolve_approvers, who_can_help
from bot.services.asking import Found, Judge, asked_before, extension_asked_before, new_request, validate
from bot.services.base import Clock, Tx, UseCase
from bot.services.break_glass import BREAK_GLASS_DAILY_LIMIT
from bot.services.deciding import record_decision
from bot.services.extensions import extendable
from bot.services.grants import Claimed, GrantService
from bot.services.lookups import GroupCache, actor_of, unknown_account
from bot.services.ports import Directory, Notifier, Person, RequestView
from bot.services.read_models import AccountRead, ResourceRead
from bot.services.views import load_view
from storage.models import AccessRequest, Account, Resource

log = logging.getLogger(__name__)
# How long an approval's card update waits for the grant's own: a grant takes well under a second, so the card
# goes from "pending" to "granted" in one update; a slow one (AWS retrying) shows "approved" meanwhile.
GRANT_GRACE_SECONDS = 3.0


NewRequest = Callable[[], tuple[AccessRequest, tuple[Resource, Account]]]  # asking.new_request, its arguments bound


class _JudgeOutside(Exception):
    """Raised in an ask's transaction when judging it needs Slack or the catalog: the transaction rolls back."""


def _judge_here(user_id: str) -> Judge:
    """Judged in the ask's transaction, on the account it reads (one transaction for the whole ask), when that
    needs no Slack: the requester is named, or everyone may ask. A requester group, or an account that does not
    exist (its message lists only what the person may ask for), is judged outside it."""
    def judge(found: Found | None) -> Eligibility:
        if found is None:
            raise _JudgeOutside
        return _judged(found, user_id, _group_outside)
    return judge


def _group_outside(group: str) -> frozenset[str]:
    raise _JudgeOutside


def _judged(found: Found, user_id: str, group_members: Callable[[str], frozenset[str]]) -> Eligibility:
    """The person's eligibility for the account, or NotAllowed naming who can help."""
    res, acc = found
    decision = eligibility(requesters_of(acc), user_id, group_members=group_members)
    ensure_eligible(decision, target=f"`{res.name}/{acc.name}`", helpers=who_can_help(acc))
    return decision


def _made_or_found(tx: Tx, earlier: AccessRequest | None, make: NewRequest) -> tuple[AccessRequest, RequestView]:
    """The request a replayed ask made then, with its view read whole; else the one `make` makes now, whose view
    reuses the account it read (and nobody has decided on it yet)."""
    if earlier is not None:
        return earlier, load_view(tx, earlier)
    request, found = make()
    return request, load_view(tx, request, found=found, decisions=())


def _scheduled_later(starts_at: datetime | None, now: datetime) -> bool:
    return starts_at is not None and starts_at > now


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
               reason: str, start: str | None = None, person: Person | None = None,
               acked_at: datetime | None = None) -> RequestView:
        """Create a request and queue its card, or grant at once when the account auto-approves. With `start`
        (`22:00`, in the person's Slack time zone) the grant waits for that moment once approved. `person`: the
        requester as `check` found them moments before (else the directory is asked).

        `acked_at`: the ask is handled again (recorded then, its first worker died); the request it already
        made, if any, is carried on instead of a second one."""
        target = f"{resource}/{account}"
        with self.audited(user_id, "request.create", target):
            if person is None or person.user_id != user_id:
                person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            starts_at = start_at(start, now=self.clock(), utc_offset_seconds=person.tz_offset) if start else None

            def ask(judge: Judge) -> tuple[AccessRequest | None, AccessRequest, RequestView]:
                with self.transaction() as tx:
                    earlier = asked_before(tx, person, resource, account, acked_at)
                    request, view = _made_or_found(tx, earlier, lambda: new_request(
                        tx, person, resource, account, duration, reason, judge,
                        break_glass_limit=self.break_glass_limit, starts_at=starts_at))
                    if earlier is None and request.status == RequestStatus.PENDING:
                        self._queue_cards(tx, view)  # committed with the request: a replayed ask queues none again
                return earlier, request, view

            # A first ask is judged on the account its transaction reads, unless that takes Slack or the catalog.
            judge = _judge_here(user_id) if acked_at is None else self._judged_before(user_id, resource, account)
            try:
                earlier, request, view = ask(judge)
            except _JudgeOutside:  # rolled back, nothing written: judged first, then asked in a transaction again
                earlier, request, view = ask(self._judged_before(user_id, resource, account))
        if earlier is not None:
            return self._carry_on(view)
        log.info("request %s created by %s for %s", request.ref, user_id, target, extra={"request": request.ref})
        if request.status == RequestStatus.APPROVED:
            return self._grant_or_wait(view)
        return view

    def _carry_on(self, view: RequestView) -> RequestView:
        """An ask handled again after its worker stopped: carry on the request it made (no second one); its card
        was queued with it, and a grant it made keeps its one session (only its link may have died)."""
        request = view.request
        log.warning("request %s: its ask was handled again after a worker stopped", request.ref,
                    extra={"request": request.ref})
        if request.status == RequestStatus.GRANTED:
            self.grants.resume_link(request.id)
        elif request.status == RequestStatus.APPROVED:
            return self._grant_or_wait(view)
        return view

    def _grant_or_wait(self, view: RequestView) -> RequestView:
        """Grant an approved request now, or — scheduled for later — tell the requester when it will start."""
        if not _scheduled_later(view.request.starts_at, self.clock()):
            return self.grants.grant(view.request.id) or view
        self.notifier.update_request_cards(view)
        self.notifier.tell_requester(view, "scheduled")
        return view

    def break_glass(self, *, user_id: str, resource: str, account: str, duration: str | None,
                    reason: str, acked_at: datetime | None = None) -> RequestView:
        """Grant at once, without approval, where the account allows break-glass; loud: a red card, a DM to every
        approver and admin, an audit event flagged `break_glass`, and a review owed afterwards."""
        target = f"{resource}/{account}"
        with self.audited(user_id, "request.break_glass", target):
            person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            judge = self._judged_before(user_id, resource, account)
            with self.transaction() as tx:
                earlier = asked_before(tx, person, resource, account, acked_at)
                request, view = _made_or_found(tx, earlier, lambda: new_request(
                    tx, person, resource, account, duration, reason, judge,
                    break_glass_limit=self.break_glass_limit, break_glass=True))
                if earlier is None:
                    self._queue_cards(tx, view)
        if earlier is not None:  # handled again after a worker stopped: announced already, granted at most once
            if request.status == RequestStatus.GRANTED:
                self.grants.resume_link(request.id)
                return view
            return self.grants.grant(request.id) or view
        log.warning("break-glass %s by %s on %s", request.ref, user_id, target, extra={"request": request.ref})
        view = self._announce_break_glass(view)
        return self.grants.grant(request.id) or view

    def extend(self, *, user_id: str, session_ref: str, acked_at: datetime | None = None) -> RequestView:
        """Ask to continue an active session for the account's default duration: a new grant (new AssumeRoles, a
        new link), approved again unless the account says extensions need none.

        `acked_at`: the click is handled again (its first worker died); the extension it asked for, if any, is
        carried on instead of a second one."""
        with self.audited(user_id, "request.extend", session_ref):
            person = self.directory.person(user_id)
            ensure_can_request(actor_of(person))
            with self.transaction() as tx:
                earlier = extension_asked_before(tx, person, session_ref, acked_at)
                view = load_view(tx, earlier) if earlier is not None else None
            if view is not None:
                return self._carry_on(view)
            with self.transaction() as tx:
                res, acc = extendable(tx, session_ref, user_id, daily_cap_seconds=self.daily_cap_seconds)
            judge = self._judged_before(user_id, res.name, acc.name)
            with self.transaction() as tx:
                request, found = new_request(tx, person, res.name, acc.name, None, f"extension of {session_ref}",
                                             judge, break_glass_limit=self.break_glass_limit, extends=session_ref)
                view = load_view(tx, request, found=found, decisions=())
                if request.status == RequestStatus.PENDING:
                    self._queue_cards(tx, view)
        if request.status == RequestStatus.APPROVED:
            return self._grant_or_wait(view)
        return view

    def check(self, *, user_id: str, resource: str, account: str, duration: str | None, reason: str,
              start: str | None = None) -> Person:
        """Everything `submit` would refuse, without writing (a modal shows it as a field error); returns the
        requester as the directory described them, for `submit` to use instead of asking again."""
        person = self.directory.person(user_id)
        ensure_can_request(actor_of(person))
        if start:
            start_at(start, now=self.clock(), utc_offset_seconds=person.tz_offset)
        self._ensure_eligible(user_id, resource, account)
        with self.transaction() as tx:
            validate(tx, person, resource, account, duration, reason)
        return person

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
            decided = self._record(ref, person, approve, reason)  # an account that names its approvers: one transaction
            if decided is None:  # an approver group (read from Slack) or the admins: checked before the transaction
                eligible, found = self._may_decide(ref, user_id)
                decided = self._record(ref, person, approve, reason, checked=(eligible, found))
            assert decided is not None
            view, outcome, held = decided
        log.info("request %s: %s by %s, now %s", ref, "approve" if approve else "deny", user_id, outcome.value,
                 extra={"request": ref})
        if held is not None:
            return self.grants.grant(view.request.id, held=held) or view
        if outcome is Outcome.APPROVED:
            return self._grant_or_wait(view)
        return view

    def _record(self, ref: str, person: Person, approve: bool, reason: str, *,
                checked: tuple[bool, tuple[Resource, Account] | None] | None = None,
                ) -> tuple[RequestView, Outcome, Claimed | None] | None:
        """One verdict in one transaction, with the approval's grant claimed in it. `checked`: whether the person
        approves this account, and the account, found before; without it the account is read here, and None is
        returned, nothing written, when it cannot be decided without leaving the transaction (a group, the admins)."""
        session_ref = None  # a free ref for the session of a grant that follows, read with the request
        with self.transaction() as tx:
            if checked is None:  # the request, locked, with its account and a free session ref: one statement
                loaded = tx.requests.locked_with_account(ref, session_ref=new_session_ref())
                request, found, session_ref = loaded if loaded is not None else (None, None, None)
            else:
                request, (eligible, found) = tx.requests.by_ref(ref, lock=True), checked
            if request is None:
                raise NotFound(f"There is no request {ref}.")
            if checked is None:
                if found is None or found[1].approver_group or not found[1].approver_ids:
                    return None
                eligible = person.user_id in resolve_approvers(frozenset(found[1].approver_ids), None,
                                                               directory=self.directory, admin_ids=self.admin_ids)
            # An approval granted now is claimed for granting by the UPDATE that approves it: both commit, or
            # neither (a replay claims it again).
            granting_now = not _scheduled_later(request.starts_at, tx.now)
            outcome, decisions = record_decision(tx, request, person, approve, reason, eligible, claim=granting_now)
            view = load_view(tx, request, found=found, decisions=decisions)
            # Queued with the decision: both commit, or neither. An approval granted now shows "approved"
            # only if the grant takes long: its "granted" (or "failed") replaces this update, one call to Slack.
            granting = outcome is Outcome.APPROVED and granting_now
            self.notifier.update_request_cards(view, after=GRANT_GRACE_SECONDS if granting else 0.0)
            if outcome is Outcome.DENIED:
                self.notifier.tell_requester(view, "denied")
            held = self.grants.held(tx, request, found=found, decisions=view.decisions,
                                    session_ref=session_ref) if granting else None
        return view, outcome, held

    def _resume(self, user_id: str, ref: str) -> RequestView | None:
        with self.transaction() as tx:
            request = tx.requests.by_ref(ref)
            if request is None or request.status not in (RequestStatus.APPROVED, RequestStatus.GRANTED) or not any(
                    d.approver_id == user_id and d.verdict == "approve" for d in tx.requests.decisions(request.id)):
                return None
            if request.status == RequestStatus.APPROVED:
                tx.audit("pam-bot", "request.resumed", ref, approver=user_id)
            view = load_view(tx, request)
        if view.request.status == RequestStatus.GRANTED:  # granted, but its link may have died with that worker
            self.grants.resume_link(view.request.id)
            return view
        log.warning("request %s: resuming a grant a stopped worker left", ref, extra={"request": ref})
        self.notifier.tell_requester(view, "delayed")
        return self.grants.grant(view.request.id) or view

    def cancel(self, *, user_id: str, ref: str) -> RequestView:
        """Withdraw one's own pending request, or an approved one whose scheduled start has not come."""
        with self.audited(user_id, "request.cancel", ref):  # noqa: SIM117 - the audit wraps the transaction
            with self.transaction() as tx:
                request = tx.requests.by_ref(ref)
                if request is None or request.requester_id != user_id:
                    raise NotFound(f"You have no request {ref}.")
                waiting = (request.status == RequestStatus.APPROVED and request.starts_at is not None
                           and request.starts_at > tx.now)
                was = RequestStatus.APPROVED if waiting else RequestStatus.PENDING
                if not tx.requests.transition(request.id, was, RequestStatus.CANCELLED, updated_at=tx.now):
                    raise Conflict(f"Request {ref} is already {request.status}; only pending requests, and approved "
                                   "ones whose start has not come, can be cancelled.")
                tx.audit(user_id, "request.cancel", ref)
                view = load_view(tx, request)
        self.notifier.update_request_cards(view)
        return view

    def catalog(self, user_id: str) -> list[tuple[ResourceRead, AccountRead]]:
        """The accounts `user_id` may ask for; one whose requester group cannot be read is left out."""
        with self.transaction() as tx:  # on the web path, before a modal's trigger expires: no ORM object per account
            accounts = tx.config.account_rows()
            resources = {r.id: ResourceRead.of(r) for r in tx.config.resources()}  # one read each, not one per account
            rows = [(resources[a.resource_id], AccountRead.of(a)) for a in accounts if a.resource_id in resources]
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
        return _judged(found, user_id, self.directory.group_members)

    def _judged_before(self, user_id: str, resource: str, account: str) -> Judge:
        """Judged now, outside any transaction (a requester group is read from Slack): the ask's transaction
        takes the decision as it is."""
        decision = self._ensure_eligible(user_id, resource, account)
        return lambda found: decision

    def _may_decide(self, ref: str, user_id: str) -> tuple[bool, tuple[Resource, Account] | None]:
        """Whether `user_id` approves this request's account, and the account (read once for the decision too)."""
        with self.transaction() as tx:  # the request and its account only: the full view is for the rare refusal
            request = tx.requests.by_ref(ref)
            found = tx.config.account_by_id(request.account_id) if request and request.account_id is not None else None
        if request is None:
            return False, None
        account = found[1] if found else None
        try:
            approvers = resolve_approvers(frozenset(account.approver_ids or ()) if account else frozenset(),
                                          account.approver_group if account else None, directory=self.directory,
                                          admin_ids=self.admin_ids)
        except CheckFailed:
            if request.status == RequestStatus.PENDING:
                with self.transaction() as tx:
                    view = load_view(tx, request)
                self.notifier.tell_approvers(view, "approvers_unreadable")
            raise
        return user_id in approvers, found

    def _announce_break_glass(self, view: RequestView) -> RequestView:
        """A DM to every approver and admin (the red card where approval cards go was queued with the request)."""
        self.notifier.alert_break_glass(view)
        return view

    def _queue_cards(self, tx: Tx, view: RequestView) -> None:
        """The first card(s), queued in the transaction that makes the request; the outbox posts them with retries,
        and a refusal for good cancels the request. Nobody to show a card to refuses the ask (nothing is kept),
        except a break-glass one: audited, never a reason to hold back an emergency grant."""
        if not view.request.break_glass:
            self.notifier.queue_request_cards(view)
            return
        try:
            self.notifier.queue_request_cards(view)
        except (NotifyFailed, CheckFailed) as error:
            tx.audit("pam-bot", "request.card", view.request.ref, "failed", code=error.code,
                     detail=error.detail or "", break_glass=True)
