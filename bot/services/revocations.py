"""Cutting a session in AWS: one try per claim, retries with backoff, and a loud alert when AWS keeps refusing.

A session being cut is `revoking`; it becomes `revoked` only once AWS accepted the deny. Each try is claimed
first (the attempt counter moves and the next try is pushed out, in one transaction whose select skips rows
another replica holds), so replicas never try the same session at once, and a try a crash cut short is picked
up when its lease runs out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import AwsError
from bot.domain.states import SessionStatus
from bot.services.base import Clock, Tx, UseCase
from bot.services.ports import AccessBroker, Notifier
from bot.services.views import load_view
from storage.models import AccessSession

log = logging.getLogger(__name__)
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5),
                timedelta(minutes=10))
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)  # the try at revoke time, then one per delay
LEASE = timedelta(minutes=2)  # a claimed try that has not reported by then is due again


@dataclass(frozen=True)
class Cut:
    """One claimed try at cutting one session in AWS."""

    session_id: int
    ref: str
    resource_role_arn: str
    target_role_arn: str
    session_name: str
    aws_user_id: str | None
    expires_at: datetime
    attempt: int


class RevocationService(UseCase):
    """Claims and makes the AWS part of revocations; `retry_due` is the scheduler's sweep."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker, notifier: Notifier,
                 batch: int = 50) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.notifier = notifier
        self.batch = batch

    @staticmethod
    def claim(tx: Tx, row: AccessSession) -> Cut | None:
        """Take the next try of a `revoking` session (None when another worker took it first)."""
        attempt = row.revoke_attempts + 1
        if not tx.sessions.claim_revoke_attempt(row.id, row.revoke_attempts, revoke_due_at=tx.now + LEASE):
            return None
        return Cut(row.id, row.ref, row.resource_role_arn, row.target_role_arn, row.role_session_name,
                   row.aws_user_id, row.expires_at, attempt)

    def retry_due(self) -> int:
        """Try every `revoking` session whose next try is due; return how many were tried."""
        with self.transaction() as tx:
            rows = tx.sessions.claim_due_revocations(tx.now, self.batch)
            cuts = [cut for row in rows if (cut := self.claim(tx, row)) is not None]
        for cut in cuts:
            self.attempt("pam-bot", cut)
        return len(cuts)

    def attempt(self, actor: str, cut: Cut) -> str:
        """`applied`, `retrying:<code>`, `gave_up:<code>` or `expired` (the credentials died first)."""
        if cut.expires_at <= self.clock():
            return self._settle(actor, cut, SessionStatus.ENDED, "expired")
        try:
            with self.exclusive(f"revocation-policy:{cut.target_role_arn}"):  # one read-merge-write per role
                self.broker.revoke_session(resource_role_arn=cut.resource_role_arn,
                                           target_role_arn=cut.target_role_arn, session_name=cut.session_name,
                                           aws_user_id=cut.aws_user_id, expires_at=cut.expires_at,
                                           now=self.clock())
        except AwsError as error:
            return self._failed(actor, cut, error)
        return self._settle(actor, cut, SessionStatus.REVOKED, "applied")

    def _settle(self, actor: str, cut: Cut, status: SessionStatus, outcome: str) -> str:
        with self.transaction() as tx:
            if tx.sessions.transition(cut.session_id, SessionStatus.REVOKING, status, revoke_due_at=None,
                                      revocation_applied=status == SessionStatus.REVOKED):
                tx.audit(actor, "session.revoke_in_aws", cut.ref, "ok" if outcome == "applied" else outcome,
                         attempt=cut.attempt, role_session_name=cut.session_name, aws_user_id=cut.aws_user_id,
                         target_role_arn=cut.target_role_arn)
        return outcome

    def _failed(self, actor: str, cut: Cut, error: AwsError) -> str:
        gave_up = cut.attempt >= MAX_ATTEMPTS
        with self.transaction() as tx:
            row = tx.session.get(AccessSession, cut.session_id)
            if row is None or row.status != SessionStatus.REVOKING:
                return f"failed:{error.code}"
            row.revoke_error = error.code[:64]
            # After the last try the row waits for its expiry, when the sweep marks it ended.
            row.revoke_due_at = row.expires_at if gave_up else tx.now + RETRY_DELAYS[cut.attempt - 1]
            tx.audit(actor, "session.revoke_in_aws", cut.ref, "failed", aws_code=error.code,
                     message=error.user_message, attempt=cut.attempt, gave_up=gave_up,
                     role_session_name=cut.session_name, next_try=None if gave_up else row.revoke_due_at.isoformat(),
                     **({"detail": error.detail} if error.detail else {}))
            request = tx.requests.by_id(row.request_id)
            view = load_view(tx, request) if request is not None else None
        log.warning("revocation of %s in AWS failed (try %s): %s", cut.ref, cut.attempt, error.code,
                    extra={"session": cut.ref, "code": error.code})
        if not gave_up or view is None:
            return f"retrying:{error.code}"
        self.notifier.tell_approvers(view, "revoke_failed")  # queued in the outbox
        self.notifier.tell_admins(view, "revoke_failed")
        return f"gave_up:{error.code}"

