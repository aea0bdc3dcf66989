"""Session use-cases: list sessions, end one early (revoke), clean up revocation policies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import AwsError, Conflict, NotAllowed, NotFound, NotifyFailed
from bot.services.base import Clock, UseCase
from bot.services.ports import AccessBroker, Notifier, RequestView
from bot.services.views import load_view
from storage.models import AccessSession

log = logging.getLogger(__name__)
REVOCATION_LIFETIME = timedelta(hours=1)  # chained credentials never outlive an hour
# The deny statement's moment is the revocation time rounded up to the second; a minute's margin makes
# sure the broker sees the statement as stale when the session row says it may go.
PRUNE_MARGIN = timedelta(minutes=1)


class SessionService(UseCase):
    """What people do with their sessions; the scheduler's part lives in SweepService."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker, notifier: Notifier,
                 admin_ids: Callable[[], frozenset[str]]) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.notifier = notifier
        self.admin_ids = admin_ids

    def active(self, *, actor: str, all_users: bool = False, user: str | None = None,
               limit: int = 50) -> Sequence[AccessSession]:
        """One's own active sessions; admins may see everyone's or one person's."""
        if (all_users or (user and user != actor)) and actor not in self.admin_ids():
            self.record(actor, "session.list", user or "all", "refused", code="not_allowed")
            raise NotAllowed("Only pam-bot admins can see other people's sessions.")
        with self.transaction() as tx:
            owner = None if all_users else (user or actor)
            rows = tx.sessions.active(owner, limit=limit)
            # A session past its end stays `active` until the next tick ends it; it is over all the same.
            return [row for row in rows if row.expires_at > tx.now]

    def revoke(self, *, actor: str, ref: str) -> tuple[RequestView, str]:
        """End a session now (owner or admin); cut it in AWS too where the account allows it.

        Returns the view and what happened in AWS: `applied`, `not_enabled` or `failed:<AWS code>`.
        """
        is_admin = actor in self.admin_ids()  # read before the transaction: SQLite allows one writer at a time
        with self.audited(actor, "session.revoke", ref):
            with self.transaction() as tx:
                row = tx.sessions.by_ref(ref)
                if row is None:
                    raise NotFound(f"There is no session {ref}.")
                if row.requester_id != actor and not is_admin:
                    raise NotAllowed("Only the session's owner or a pam-bot admin can revoke it.")
                if not tx.sessions.transition(row.id, "active", "revoked", ended_at=tx.now, revoked_by=actor):
                    raise Conflict(f"Session {ref} is already {row.status}.")
                found = tx.config.account_by_id(row.account_id) if row.account_id else None
                cut_in_aws = bool(found and found[1].revocation_enabled)
                target, resource, name = row.target_role_arn, row.resource_role_arn, row.role_session_name
                session_id, request_id, owner = row.id, row.request_id, row.requester_id
            outcome = self._cut(actor, ref, session_id, cut_in_aws, resource, target, name)
            with self.transaction() as tx:
                request = tx.requests.by_id(request_id)
                assert request is not None
                tx.audit(actor, "session.revoke", ref, aws=outcome, request=request.ref, owner=owner,
                         role_session_name=name, target_role_arn=target)
                view = load_view(tx, request)
        self._tell(view, actor)
        return view, outcome

    def prune_revocations(self) -> int:
        """Remove deny statements that can no longer match anything (credentials live at most an hour)."""
        with self.transaction() as tx:
            rows = tx.sessions.revoked_with_policy_since(tx.now - REVOCATION_LIFETIME - PRUNE_MARGIN)
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
                row = tx.session.get(AccessSession, session_id)
                if row is not None:
                    row.revocation_applied = False
            if done:
                tx.audit("pam-bot", "session.revocations_pruned", "", sessions=len(done),
                         roles=len(by_target))
        return len(done)

    def _cut(self, actor: str, ref: str, session_id: int, enabled: bool, resource: str, target: str,
             name: str) -> str:
        if not enabled:
            return "not_enabled"
        try:
            with self.exclusive(f"revocation-policy:{target}"):  # one read-merge-write per role
                self.broker.revoke_session(resource_role_arn=resource, target_role_arn=target, session_name=name,
                                           now=self.clock())
        except AwsError as error:
            self.record(actor, "session.revoke_in_aws", ref, "failed", aws_code=error.code,
                        message=error.user_message, role_session_name=name,
                        **({"detail": error.detail} if error.detail else {}))
            return f"failed:{error.code}"
        with self.transaction() as tx:
            row = tx.session.get(AccessSession, session_id)
            if row is not None:
                row.revocation_applied = True
        return "applied"

    def _tell(self, view: RequestView, actor: str) -> None:
        for send in (self.notifier.update_request_cards, self._tell_owner(actor)):
            try:
                send(view)
            except NotifyFailed as error:
                log.warning("revocation of %s not announced: %s", view.request.ref, error.code)

    def _tell_owner(self, actor: str) -> Callable[[RequestView], None]:
        def tell(view: RequestView) -> None:
            if actor != view.request.requester_id:  # the owner who revoked reads the answer where they acted
                self.notifier.tell_requester(view, "revoked")
        return tell
