"""Session use-cases: list sessions, end one early (revoke, with the AWS cut in revocations), clean up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import AwsError, Conflict, NotAllowed, NotFound
from bot.domain.states import SessionStatus
from bot.services.base import Clock, Tx, UseCase
from bot.services.ports import AccessBroker, Notifier, RequestView
from bot.services.read_models import SessionRead
from bot.services.revocations import Cut, RevocationService
from bot.services.views import load_view
from storage.models import AccessSession

log = logging.getLogger(__name__)
# A deny is grouped with others expiring in the same 10 minutes and kept 5 minutes past them (clocks differ);
# a minute more makes sure the broker sees it as stale when the session row says it may go.
PRUNE_AFTER = timedelta(minutes=16)


class SessionService(UseCase):
    """What people do with their sessions; the scheduler's part lives in SweepService."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker, notifier: Notifier,
                 admin_ids: Callable[[], frozenset[str]], revocations: RevocationService) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.notifier = notifier
        self.admin_ids = admin_ids
        self.revocations = revocations

    def active(self, *, actor: str, all_users: bool = False, user: str | None = None,
               limit: int = 50) -> Sequence[SessionRead]:
        """One's own active sessions; admins may see everyone's or one person's."""
        if (all_users or (user and user != actor)) and actor not in self.admin_ids():
            self.record(actor, "session.list", user or "all", "refused", code="not_allowed")
            raise NotAllowed("Only pam-bot admins can see other people's sessions.")
        with self.transaction() as tx:
            owner = None if all_users else (user or actor)
            rows = tx.sessions.active(owner, limit=limit)
            # A session past its end stays `active` until the next tick ends it; it is over all the same.
            return [SessionRead.of(row) for row in rows if row.expires_at > tx.now]

    def revoke(self, *, actor: str, ref: str, authorized: bool = False) -> tuple[RequestView, str]:
        """End a session now (owner or admin); cut it in AWS too where its account had revocation on.

        Returns the view and what happened in AWS: `applied`, `retrying:<code>`, `gave_up:<code>`,
        `expired` or `not_enabled`. A session still being cut (`revoking`) gets another try at once.
        `authorized`: the caller has checked `actor` may end it (an approver flagging a break-glass).
        """
        is_admin = actor in self.admin_ids()  # read before the transaction: SQLite allows one writer at a time
        with self.audited(actor, "session.revoke", ref):
            with self.transaction() as tx:
                row = tx.sessions.by_ref(ref)
                if row is None:
                    raise NotFound(f"There is no session {ref}.")
                if row.requester_id != actor and not is_admin and not authorized:
                    raise NotAllowed("Only the session's owner or a pam-bot admin can revoke it.")
                again = row.status == SessionStatus.REVOKING
                cut = self._start(tx, row, actor)
                name, target, request_id, owner = (row.role_session_name, row.target_role_arn, row.request_id,
                                                   row.requester_id)
            outcome = self.revocations.attempt(actor, cut) if cut is not None else "not_enabled"
            with self.transaction() as tx:
                request = tx.requests.by_id(request_id)
                assert request is not None
                tx.audit(actor, "session.revoke", ref, aws=outcome, request=request.ref, owner=owner,
                         role_session_name=name, target_role_arn=target, again=again)
                view = load_view(tx, request)
        if not again:
            self._tell(view, actor)
        return view, outcome

    def _start(self, tx: Tx, row: AccessSession, actor: str) -> Cut | None:
        """Move the session out of `active` (or claim another try of a `revoking` one)."""
        if row.status == SessionStatus.REVOKING:
            cut = self.revocations.claim(tx, row)
            if cut is None:
                raise Conflict(f"Session {row.ref} is being cut off in AWS right now; try again in a minute.")
            return cut
        status = SessionStatus.REVOKING if row.revocation_enabled else SessionStatus.REVOKED
        if not tx.sessions.transition(row.id, SessionStatus.ACTIVE, status, ended_at=tx.now, revoked_by=actor):
            raise Conflict(f"Session {row.ref} is already {row.status}.")
        tx.session.refresh(row)
        return self.revocations.claim(tx, row) if status == SessionStatus.REVOKING else None

    def prune_revocations(self) -> int:
        """Remove deny statements whose credentials have expired (pruning also happens before every write)."""
        with self.transaction() as tx:
            rows = tx.sessions.revoked_with_policy_expired_before(tx.now - PRUNE_AFTER)
            by_target: dict[tuple[str, str], list[int]] = {}
            for row in rows:
                by_target.setdefault((row.resource_role_arn, row.target_role_arn), []).append(row.id)
        done: list[int] = []
        for (resource, target), ids in by_target.items():
            try:
                with self.exclusive(f"revocation-policy:{target}"):  # one read-merge-write per role
                    self.broker.prune_revocations(resource_role_arn=resource, target_role_arn=target,
                                                  now=self.clock())
            except AwsError as error:
                log.warning("could not prune revocations on %s: %s", target, error.code)
                continue  # stays flagged: tried again at the next clean-up
            done.extend(ids)
        with self.transaction() as tx:
            for session_id in done:
                pruned = tx.session.get(AccessSession, session_id)
                if pruned is not None:
                    pruned.revocation_applied = False
            if done:
                tx.audit("pam-bot", "session.revocations_pruned", "", sessions=len(done),
                         roles=len(by_target))
        return len(done)

    def _tell(self, view: RequestView, actor: str) -> None:
        """Card, owner and link DM; queued in the outbox, which retries each on its own."""
        self.notifier.update_request_cards(view)
        if actor != view.request.requester_id:  # the owner who revoked reads the answer where they acted
            self.notifier.tell_requester(view, "revoked")
        self._close_link(view)

    def _close_link(self, view: RequestView) -> None:
        session = view.session
        if session is not None and session.link_channel and session.link_ts:
            self.notifier.close_link_message(view, session.link_channel, session.link_ts)
