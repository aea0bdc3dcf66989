"""Granting an approved request: chain the roles, build the link, record the session, DM the link."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.arns import console_url, parse_role_arn
from bot.domain.eligibility import CheckFailed, eligibility
from bot.domain.errors import AwsError, Conflict, NotAllowed, NotFound, NotifyFailed, PamError
from bot.domain.ids import new_session_ref
from bot.domain.names import grant_session_name, role_session_name
from bot.domain.policy import ensure_can_request
from bot.domain.states import RequestStatus, SessionStatus
from bot.services.approvers import requesters_of
from bot.services.base import Clock, Tx, UseCase
from bot.services.lookups import actor_of
from bot.services.ports import AccessBroker, Directory, LinkCourier, Notifier, Person, RequestView
from bot.services.read_models import DecisionRead, RequestRead
from bot.services.views import load_view
from storage.models import AccessRequest, AccessSession, Account, Resource

log = logging.getLogger(__name__)
MIN_RELINK_SECONDS = 900  # STS's shortest DurationSeconds: a shorter remainder cannot be granted without outliving it
LINK_LIFETIME = timedelta(minutes=15)  # a federation sign-in token must be used within 15 minutes of its issue
LINK_RETRY = LINK_LIFETIME - timedelta(minutes=1)  # a link that lands later would expire before anyone could click it
# A link neither delivered nor given up on this long after its grant died with the process that held it.
LINK_UNSETTLED_AFTER = LINK_LIFETIME + timedelta(minutes=1)


@dataclass(frozen=True)
class Claimed:
    """An approved request this worker holds, with what its session will be called and carry."""

    request: AccessRequest
    session_ref: str
    revocation_enabled: bool
    source_identity: bool
    account: tuple[Resource, Account] | None  # read with the claim: the recheck and the view use it
    decisions: tuple[DecisionRead, ...] | None = None  # read by the approval that claimed it (final by then)


class GrantService(UseCase):
    """Turns `approved` into `granted` (with a session) or `failed`, exactly once per request."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker,
                 directory: Directory, notifier: Notifier, courier: LinkCourier | None = None,
                 on_link_sent: Callable[[RequestRead], None] = lambda request: None) -> None:
        super().__init__(db=db, clock=clock)
        self.on_link_sent = on_link_sent  # the console link's DM went out (the grant-latency metric)
        self.courier = courier  # retries a link DM Slack did not take at once; None: give up at once
        self.broker = broker
        self.directory = directory
        self.notifier = notifier

    def grant(self, request_id: int, *, max_attempts: int = 2, held: Claimed | None = None) -> RequestView | None:
        """Grant one approved request; None when another worker holds it or it is no longer approved.
        `held`: claimed already, in the transaction that approved it (`claim_in`)."""
        held = held or self._claim(request_id, max_attempts)
        if held is None:
            return None
        claimed = held.request
        try:
            person = self._recheck(claimed, held.account)
        except PamError as error:  # no AssumeRole for someone who may no longer have it
            return self.fail(request_id, code=error.code, message=error.user_message, detail=error.detail,
                             actor="pam-bot", tell_approvers=True)
        # The session's ref is chosen before AWS is asked: it is part of the role session name.
        session_name = grant_session_name(person.email, claimed.requester_id, held.session_ref)
        source_identity = role_session_name(person.email, claimed.requester_id) if held.source_identity else None
        try:
            grant = self.broker.grant(
                resource_role_arn=claimed.resource_role_arn, target_role_arn=claimed.target_role_arn,
                session_name=session_name, duration_seconds=claimed.duration_seconds,
                source_identity=source_identity,
            )
            link = self.broker.console_link(grant)
        except AwsError as error:
            return self.fail(request_id, code=error.code, message=error.user_message, detail=error.detail)
        with self.transaction() as tx:
            request = tx.requests.transition(request_id, RequestStatus.APPROVED, RequestStatus.GRANTED,
                                             updated_at=tx.now)
            if request is None:
                return None
            session = AccessSession(
                ref=held.session_ref, request_id=request.id, requester_id=request.requester_id,
                account_id=request.account_id, resource_name=request.resource_name,
                account_name=request.account_name, resource_role_arn=request.resource_role_arn,
                target_role_arn=request.target_role_arn, role_session_name=session_name,
                assumed_role_arn=grant.assumed_role_arn, status=SessionStatus.ACTIVE, started_at=tx.now,
                expires_at=grant.expires_at, revocation_enabled=held.revocation_enabled,
                aws_user_id=grant.aws_user_id or None, source_identity=grant.source_identity,
            )
            continued = tx.sessions.by_ref(request.extends) if request.extends else None
            if continued is not None:
                session.continues, session.extension = continued.ref, continued.extension + 1
            tx.sessions.add(session)
            tx.audit("pam-bot", "session.granted", request.ref, session=session.ref, continues=session.continues,
                     requester=request.requester_id, role_session_name=session_name,
                     assumed_role_arn=grant.assumed_role_arn, target_role_arn=request.target_role_arn,
                     aws_user_id=grant.aws_user_id, revocation_enabled=held.revocation_enabled,
                     **({"source_identity": grant.source_identity} if grant.source_identity else {}),
                     expires_at=grant.expires_at.isoformat(), aws_request_ids=list(grant.aws_request_ids),
                     cloudtrail=cloudtrail_link(request.target_role_arn, session_name))
            view = load_view(tx, request, found=held.account, decisions=held.decisions, session=session)
        log.info("request %s granted: session %s as %s until %s", request.ref, session.ref, session_name,
                 grant.expires_at.isoformat(), extra={"request": request.ref, "session": session.ref})
        self._deliver(view, link)
        return view

    def fail(self, request_id: int, *, code: str, message: str, detail: str | None = None, actor: str = "pam-bot",
             tell_approvers: bool = False) -> RequestView | None:
        """Mark an approved request failed and tell the requester and the card (and the thread) what went wrong."""
        with self.transaction() as tx:
            request = tx.requests.transition(request_id, RequestStatus.APPROVED, RequestStatus.FAILED,
                                             updated_at=tx.now, failure_code=code, failure_message=message)
            if request is None:
                return None
            tx.audit(actor, "session.grant", request.ref, "failed", aws_code=code, message=message,
                     **({"detail": detail} if detail else {}))
            view = load_view(tx, request)
        log.warning("request %s failed: %s (%s)", request.ref, code, detail or message,
                    extra={"request": request.ref, "code": code})
        self.notifier.update_request_cards(view)  # these queue in the outbox, which retries them
        self.notifier.tell_requester(view, "failed")
        if tell_approvers:
            self.notifier.tell_approvers(view, "failed")
        return view

    def _claim(self, request_id: int, max_attempts: int) -> Claimed | None:
        with self.transaction() as tx:
            return self.claim_in(tx, request_id, max_attempts=max_attempts)

    def claim_in(self, tx: Tx, request_id: int, *, max_attempts: int = 2,
                 found: tuple[Resource, Account] | None = None,
                 decisions: tuple[DecisionRead, ...] | None = None) -> Claimed | None:
        """Take an approved request for granting in the caller's transaction (an approval claims it in the one
        that approved it: one commit fewer before AWS is asked). `found`, `decisions`: its account and its
        decisions, read already."""
        request = tx.requests.by_id(request_id)
        if request is None or request.status != RequestStatus.APPROVED or request.grant_attempts >= max_attempts:
            return None
        if request.starts_at is not None and request.starts_at > tx.now:
            return None  # scheduled: the start sweep grants it when its time comes
        # Bumping the counter conditionally is the claim: a second worker sees a changed row and stops.
        claimed = tx.requests.claim_grant(request_id, request.grant_attempts, tx.now)
        if claimed is None:
            return None
        return self.held(tx, claimed, found=found, decisions=decisions)

    def held(self, tx: Tx, claimed: AccessRequest, *, found: tuple[Resource, Account] | None = None,
             decisions: tuple[DecisionRead, ...] | None = None, session_ref: str | None = None) -> Claimed:
        """A request this transaction took for granting (`claim_in`, or the approval that counted the attempt),
        with its session's ref (`session_ref`: one this transaction found free) and what the session will carry."""
        if found is None or found[1].id != claimed.account_id:
            found = tx.config.account_by_id(claimed.account_id) if claimed.account_id else None
        return Claimed(claimed, session_ref or _unused_session_ref(tx), bool(found and found[1].revocation_enabled),
                       bool(found and found[0].source_identity), found, decisions)

    def _recheck(self, request: AccessRequest, found: tuple[Resource, Account] | None) -> Person:
        """The requester, checked again at the moment of granting: still a member, still eligible.

        Asked while pending, granted later: someone turned into a guest, deactivated, or taken off the account's
        requesters in between gets nothing. A check that cannot be made (Slack unreachable) refuses too.
        """
        try:
            person = self.directory.person(request.requester_id)
        except NotFound as error:
            raise NotAllowed("Slack no longer knows the requester.", code="requester_unknown") from error
        except NotifyFailed as error:
            raise CheckFailed("pam-bot could not confirm with Slack that the requester may still have access "
                              f"({error.code}); nothing was granted. Ask again in a minute.",
                              code="requester_unverifiable", detail=error.detail) from error
        try:
            ensure_can_request(actor_of(person))
        except NotAllowed as error:
            raise NotAllowed(f"The requester may no longer have access: {error.user_message}",
                             code=error.code) from error
        if found is None:  # as read by the claim, in this job
            raise NotAllowed("The account was removed before the grant.", code="account_removed")
        decision = eligibility(requesters_of(found[1]), person.user_id, group_members=self.directory.group_members)
        if not decision.eligible:
            raise NotAllowed(f"The requester is no longer among those who may request "
                             f"`{request.resource_name}/{request.account_name}`.", code=decision.why.value)
        return person

    def _deliver(self, view: RequestView, link: str) -> None:
        """DM the link; if Slack does not take it now, keep retrying it in memory while it is valid, then give up
        on it and offer a "Get a new link" button. The link is never written anywhere."""
        assert view.session is not None
        session_id = view.session.id
        try:
            where = self.notifier.send_console_link(view, link)
        except NotifyFailed as error:
            held = error.transient and self.courier is not None and self.courier.hold(
                view.request.ref, lambda: self._send_link_again(view, link),
                until=self.clock() + LINK_RETRY, first_error=error,
                sent=lambda where: self._link_sent(view, where),
                lost=lambda lost: self.give_up_link(session_id, code=lost.code, message=lost.user_message))
            if held:
                self.record("pam-bot", "session.link_delayed", view.request.ref, "retrying", session=view.session.ref,
                            code=error.code)
            else:
                self.give_up_link(session_id, code=error.code, message=error.user_message)
            self.notifier.update_request_cards(view)
        else:
            self._link_sent(view, where, update_cards=True)

    def _send_link_again(self, view: RequestView, link: str) -> dict[str, str]:
        """A later try: an earlier one may have landed although Slack's answer never came; never post it twice."""
        return self.notifier.find_console_link(view) or self.notifier.send_console_link(view, link)

    def _link_sent(self, view: RequestView, where: dict[str, str], *, update_cards: bool = False) -> None:
        self.on_link_sent(view.request)
        self._remember_link_message(view, where, update_cards=update_cards)

    def give_up_link(self, session_id: int, *, code: str, message: str) -> bool:
        """The link's DM will never land: offer its requester a "Get a new link" button and tell the approvers.
        Once per session, whoever notices first (a refusal, the courier's deadline, a replay, the sweep); False
        when the link landed, was given up on already, or the session is no longer active."""
        with self.transaction() as tx:
            if not tx.sessions.mark_link_lost(session_id, tx.now):
                return False
            session = tx.sessions.by_id(session_id)
            assert session is not None
            request = tx.requests.by_id(session.request_id)
            assert request is not None
            tx.audit("pam-bot", "session.link_not_delivered", request.ref, "failed", session=session.ref, code=code,
                     message=message)
            view = load_view(tx, request)
            # Queued with the mark: both commit, or neither.
            self.notifier.tell_approvers(view, "link_not_delivered")
            self.notifier.offer_new_link(view)  # a button, never the link
        log.warning("request %s: the link of session %s never reached its requester (%s); a new link was offered",
                    request.ref, session.ref, code, extra={"request": request.ref, "session": session.ref})
        return True

    def resume_link(self, request_id: int) -> bool:
        """A grant handled again after the worker handling it stopped: if the session's link DM had not landed,
        the link died with that worker; offer a new one now rather than when the sweep would notice."""
        with self.transaction() as tx:
            session = tx.sessions.by_request(request_id)
            if session is None or session.link_ts is not None or session.link_lost_at is not None:
                return False
            session_id = session.id
        return self._settle_lost_link(session_id, code="worker_stopped",
                                      message="The process granting the session stopped before the link was sent.")

    def offer_lost_links(self, limit: int = 100) -> int:
        """Sessions whose link neither landed nor was given up on long after the link expired: the process that
        held the link stopped (a crash, a kill mid-grant outside a replayable job). Offer each a new link."""
        with self.transaction() as tx:
            lost = tx.sessions.unsettled_links(tx.now - LINK_UNSETTLED_AFTER, limit)
        return sum(self._settle_lost_link(session_id, code="link_lost",
                                          message="The link's message never landed and its process stopped.")
                   for session_id in lost)

    def _settle_lost_link(self, session_id: int, *, code: str, message: str) -> bool:
        """A link whose process stopped: the DM may have landed just before (the stop came before its place was
        recorded), so look for it first; offer a new link only when it is not there (or Slack cannot say)."""
        with self.transaction() as tx:
            session = tx.sessions.by_id(session_id)
            request = tx.requests.by_id(session.request_id) if session is not None else None
            if request is None:
                return False
            view = load_view(tx, request)
        try:
            where = self.notifier.find_console_link(view)
        except NotifyFailed as error:
            log.info("request %s: could not look for its link DM (%s)", view.request.ref, error.code)
            where = None
        if where:
            self._remember_link_message(view, where)
            return False
        return self.give_up_link(session_id, code=code, message=message)

    def relink(self, *, user_id: str, session_ref: str) -> RequestView:
        """A fresh link for an active session's remaining time (its link DM never landed): the same role session
        name, so CloudTrail, revocation and the session row stay the same; only its requester may ask."""
        with self.audited(user_id, "session.relink", session_ref):
            with self.transaction() as tx:
                session = tx.sessions.by_ref(session_ref)
                if session is None or session.requester_id != user_id:
                    raise NotFound(f"You have no session {session_ref}.")
                if session.status != SessionStatus.ACTIVE or session.expires_at <= tx.now:
                    raise Conflict(f"Session {session_ref} is {session.status}: there is no link to renew.")
                remaining = int((session.expires_at - tx.now).total_seconds())
                if remaining < MIN_RELINK_SECONDS:
                    raise Conflict(f"Session {session_ref} has less than 15 minutes left, the shortest session AWS "
                                   "grants; request access again instead.")
                request = tx.requests.by_id(session.request_id)
                assert request is not None
                view = load_view(tx, request)
            try:
                grant = self.broker.grant(resource_role_arn=session.resource_role_arn,
                                          target_role_arn=session.target_role_arn,
                                          session_name=session.role_session_name, duration_seconds=remaining,
                                          source_identity=session.source_identity)
                link = self.broker.console_link(grant)
            except AwsError as error:
                raise AwsError(f"pam-bot could not make a new link: {error.user_message}", code=error.code,
                               detail=error.detail) from error
            where = self.notifier.send_console_link(view, link)
        self.record(user_id, "session.relinked", session_ref, request=request.ref, duration_seconds=remaining,
                    aws_request_ids=list(grant.aws_request_ids))
        self._remember_link_message(view, where)
        return view

    def _remember_link_message(self, view: RequestView, where: dict[str, str], *, update_cards: bool = False) -> None:
        """Keep where the link DM is (never the link), so ending the session can replace that message; with
        `update_cards`, the cards' "granted" update is queued in the same transaction."""
        assert view.session is not None
        with self.transaction() as tx:
            if where:
                tx.sessions.set_link_message(view.session.id, where.get("channel"), where.get("ts"))
            if update_cards:
                self.notifier.update_request_cards(view)


def _unused_session_ref(tx: Tx) -> str:
    while (ref := new_session_ref()) and tx.sessions.ref_taken(ref):
        continue
    return ref


def cloudtrail_link(target_role_arn: str, session_name: str) -> str:
    """CloudTrail event history filtered on the role session name (the console user name)."""
    partition = parse_role_arn(target_role_arn).partition
    base = console_url(partition).rstrip("/")
    return (f"{base}/cloudtrail/home#/events?"
            f"AttributeKey=Username&AttributeValue={quote(session_name, safe='')}")
