"""Sessions: what granted requests became, and the sweeps' due rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.domain.states import SessionStatus
from storage.models import AccessSession
from storage.repositories import _transition
from storage.repositories._rows import add_row
from storage.repositories.results import rowcount

SESSIONS = cast(Table, AccessSession.__table__)
# What a sweep reads of the sessions it claims.
CLAIMED: tuple[Any, ...] = (SESSIONS.c.id, SESSIONS.c.ref, SESSIONS.c.request_id, SESSIONS.c.status)
_LINK_MESSAGE = update(SESSIONS).where(SESSIONS.c.id == bindparam("row_id")).values(
    link_channel=bindparam("channel", type_=SESSIONS.c.link_channel.type),
    link_ts=bindparam("ts", type_=SESSIONS.c.link_ts.type))


class SessionRepository:
    """Queries over sessions; due-row claims lock rows so replicas skip each other's."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: AccessSession) -> None:
        """Write a new session (its id set on it)."""
        add_row(self.session, row)

    def by_id(self, session_id: int) -> AccessSession | None:
        return self.session.get(AccessSession, session_id)

    def by_ref(self, ref: str) -> AccessSession | None:
        return self.session.scalar(select(AccessSession).where(AccessSession.ref == ref))

    def ref_taken(self, ref: str) -> bool:
        """Whether a session has this ref: one column of one row, no object loaded."""
        return self.session.scalar(select(AccessSession.id).where(AccessSession.ref == ref)) is not None

    def by_request(self, request_id: int) -> AccessSession | None:
        return self.session.scalar(select(AccessSession).where(AccessSession.request_id == request_id))

    def set_link_message(self, session_id: int, channel: str | None, ts: str | None) -> None:
        """Where the link DM is (never the link): one prebuilt UPDATE, without loading the row."""
        self.session.connection().execute(_LINK_MESSAGE, {"row_id": session_id, "channel": channel, "ts": ts})

    def mark_link_lost(self, session_id: int, now: datetime) -> bool:
        """Give up on an active session's link DM, unless it landed or was given up on already; True only for the
        caller that changed the row (so one "Get a new link" offer per session, whoever notices first)."""
        result = self.session.execute(
            update(AccessSession).where(AccessSession.id == session_id, AccessSession.status == SessionStatus.ACTIVE,
                                        AccessSession.link_ts.is_(None), AccessSession.link_lost_at.is_(None))
            .values(link_lost_at=now).execution_options(synchronize_session=False))
        return bool(rowcount(result))

    def unsettled_links(self, started_before: datetime, limit: int) -> Sequence[int]:
        """Active sessions started before `started_before` whose link DM neither landed nor was given up on
        (uses ix_sessions_link_unsettled): their link died with the process that held it."""
        return self.session.scalars(
            select(AccessSession.id).where(AccessSession.status == SessionStatus.ACTIVE,
                                           AccessSession.link_ts.is_(None), AccessSession.link_lost_at.is_(None),
                                           AccessSession.started_at < started_before)
            .order_by(AccessSession.started_at).limit(limit)).all()

    def active(self, requester_id: str | None = None, limit: int = 200) -> Sequence[AccessSession]:
        query = select(AccessSession).where(AccessSession.status == SessionStatus.ACTIVE)
        if requester_id is not None:
            query = query.where(AccessSession.requester_id == requester_id)
        return self.session.scalars(query.order_by(AccessSession.expires_at).limit(limit)).all()

    def count_active(self, requester_id: str | None = None) -> int:
        query = select(func.count()).select_from(AccessSession).where(
            AccessSession.status == SessionStatus.ACTIVE)
        if requester_id is not None:
            query = query.where(AccessSession.requester_id == requester_id)
        return self.session.scalar(query) or 0

    def transition(self, session_id: int, expected: SessionStatus, new: SessionStatus,
                   **values: Any) -> AccessSession | None:
        """One conditional UPDATE; the session as it is now for the caller that changed it, None for any other
        (IllegalTransition for a move the life cycle does not declare)."""
        return _transition.transition(self.session, AccessSession, session_id, expected, new, **values)

    def claim_revoke_attempt(self, session_id: int, attempts: int, **values: Any) -> AccessSession | None:
        """Take the next try at cutting a `revoking` session if nobody moved its attempt counter since it read
        `attempts`; the session stays `revoking`. The session as it is now for the caller that took it, else None."""
        return _transition.claim(self.session, AccessSession, session_id, SessionStatus.REVOKING,
                                 AccessSession.revoke_attempts == attempts, revoke_attempts=attempts + 1, **values)

    def claim_due_warning(self, now: datetime, warn_before: datetime, limit: int) -> Sequence[Row[Any]]:
        """Active, unwarned sessions ending between now and `warn_before` (uses ix_sessions_due_warning)."""
        return self._claim(
            SESSIONS.c.warned_at.is_(None), SESSIONS.c.expires_at > now,
            SESSIONS.c.expires_at <= warn_before, limit=limit,
        )

    def claim_due_end(self, now: datetime, limit: int) -> Sequence[Row[Any]]:
        """Active sessions whose expiry has passed (uses ix_sessions_active_expiry)."""
        return self._claim(SESSIONS.c.expires_at <= now, limit=limit)

    def _claim(self, *conditions: Any, limit: int) -> Sequence[Row[Any]]:
        # Only what a tick needs to mark the rows and queue their notices (id, ref, request_id, status), as plain
        # rows: the notices are rendered later, from the rows as they are then.
        return self.session.execute(
            select(*CLAIMED)
            .where(SESSIONS.c.status == SessionStatus.ACTIVE, *conditions)
            .order_by(SESSIONS.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()

    def rows_of_requests(self, request_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The session rows of several requests in one query (for a batch of notices)."""
        if not request_ids:
            return []
        return self.session.execute(select(SESSIONS).where(
            _transition.among(self.session, SESSIONS.c.request_id, request_ids))).all()

    def mark(self, ids: Sequence[int], current: SessionStatus, **values: Any) -> int:
        """Set `values` on the claimed sessions `ids` that are still `current`, in one UPDATE; a new `status`
        among the values is checked against the life cycle first. How many rows it changed."""
        return _transition.mark_all(self.session, AccessSession, ids, current, **values)

    def claim_due_revocations(self, now: datetime, limit: int) -> Sequence[AccessSession]:
        """`revoking` sessions whose next try is due (uses ix_sessions_revoke_due); rows other replicas hold
        are skipped."""
        return self.session.scalars(
            select(AccessSession)
            .where(AccessSession.status == SessionStatus.REVOKING, AccessSession.revoke_due_at <= now)
            .order_by(AccessSession.revoke_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()

    def revoked_with_policy_expired_before(self, before: datetime, limit: int = 100) -> Sequence[AccessSession]:
        """Revoked sessions whose deny is still flagged as in place although their credentials expired."""
        return self.session.scalars(
            select(AccessSession).where(
                AccessSession.status == SessionStatus.REVOKED,
                AccessSession.revocation_applied.is_(True),
                AccessSession.expires_at <= before,
            ).limit(limit)
        ).all()
