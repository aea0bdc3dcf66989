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
            return tx.sessions.active(owner, limit=limit)

    def revoke(self, *, actor: str, ref: str) -> tuple[RequestView, str]:
        """End a session now (owner or admin); cut it in AWS too where the account allows it.

        Returns the view and a sentence saying what happened in AWS.
        """
        with self.audited(actor, "session.revoke", ref):
            with self.transaction() as tx:
                row = tx.sessions.by_ref(ref)
                if row is None:
                    raise NotFound(f"There is no session {ref}.")
                if row.requester_id != actor and actor not in self.admin_ids():
                    raise NotAllowed("Only the session's owner or a pam-bot admin can revoke it.")
                if not tx.sessions.transition(row.id, "active", "revoked", ended_at=tx.now, revoked_by=actor):
                    raise Conflict(f"Session {ref} is already {row.status}.")
                found = tx.config.account_by_id(row.account_id) if row.account_id else None
                cut_in_aws = bool(found and found[1].revocation_enabled)
                target, resource, name = row.target_role_arn, row.resource_role_arn, row.role_session_name
                session_id, request_id = row.id, row.request_id
            outcome = self._cut(actor, ref, session_id, cut_in_aws, resource, target, name)
            with self.transaction() as tx:
                tx.audit(actor, "session.revoke", ref, aws=outcome, role_session_name=name)
                request = tx.requests.by_id(request_id)
                assert request is not None
                view = load_view(tx, request)
        self._tell(view, actor)
        return view, outcome

    def prune_revocations(self) -> int:
        """Remove deny statements that can no longer match anything (credentials live at most an hour)."""
        with self.transaction() as tx:
            rows = tx.sessions.revoked_with_policy_since(tx.now - REVOCATION_LIFETIME)
            targets = {(r.resource_role_arn, r.target_role_arn) for r in rows}
            ids = [r.id for r in rows]
        for resource, target in targets:
            try:
                self.broker.prune_revocations(resource_role_arn=resource, target_role_arn=target, now=self.clock())
            except AwsError as error:
                log.warning("could not prune revocations on %s: %s", target, error.code)
                ids = []
        with self.transaction() as tx:
            for session_id in ids:
                row = tx.session.get(AccessSession, session_id)
                if row is not None:
                    row.revocation_applied = False
        return len(ids)

    def _cut(self, actor: str, ref: str, session_id: int, enabled: bool, resource: str, target: str,
             name: str) -> str:
        if not enabled:
            return "not_enabled"
        try:
            self.broker.revoke_session(resource_role_arn=resource, target_role_arn=target, session_name=name,
                                       now=self.clock())
        except AwsError as error:
            self.record(actor, "session.revoke_in_aws", ref, "failed", aws_code=error.code,
                        message=error.user_message)
            return f"failed:{error.code}"
        with self.transaction() as tx:
            row = tx.session.get(AccessSession, session_id)
            if row is not None:
                row.revocation_applied = True
        return "applied"

    def _tell(self, view: RequestView, actor: str) -> None:
        try:
            self.notifier.update_request_cards(view)
            if actor != view.request.requester_id:
                self.notifier.tell_requester(view, "revoked")
        except NotifyFailed as error:
            log.warning("revocation of %s not announced: %s", view.request.ref, error.code)
