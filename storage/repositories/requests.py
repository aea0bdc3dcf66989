"""Access requests and their decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.states import OPEN_REQUEST_STATUSES, RequestStatus
from storage.models import AccessRequest, Decision
from storage.repositories.results import rowcount
from storage.repositories import _transition


class RequestRepository:
    """Access requests and their decisions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_ref(self, ref: str, *, lock: bool = False) -> AccessRequest | None:
        """Find by public ref; `lock` serialises deciders on one request (SELECT ... FOR UPDATE)."""
        query = select(AccessRequest).where(AccessRequest.ref == ref)
        return self.session.scalar(query.with_for_update() if lock else query)

    def by_id(self, request_id: int) -> AccessRequest | None:
        return self.session.get(AccessRequest, request_id)

    def by_ids(self, request_ids: Sequence[int]) -> Sequence[AccessRequest]:
        """Several requests in one query (a sweep's batch loads them up front)."""
        if not request_ids:
            return []
        return self.session.scalars(select(AccessRequest).where(AccessRequest.id.in_(request_ids))).all()

    def add(self, request: AccessRequest) -> None:
        self.session.add(request)
        self.session.flush()

    def open_for(self, requester_id: str, account_id: int) -> AccessRequest | None:
        return self.session.scalar(
            select(AccessRequest).where(
                AccessRequest.requester_id == requester_id,
                AccessRequest.account_id == account_id,
                AccessRequest.status.in_(sorted(OPEN_REQUEST_STATUSES)),
            )
        )

    def asked_since(self, requester_id: str, account_id: int, since: datetime) -> AccessRequest | None:
        """The newest request a person made for an account at or after `since` (whatever its status)."""
        return self.session.scalars(
            select(AccessRequest).where(AccessRequest.requester_id == requester_id,
                                        AccessRequest.account_id == account_id, AccessRequest.created_at >= since)
            .order_by(AccessRequest.id.desc()).limit(1)
        ).first()

    def transition(self, request_id: int, expected: RequestStatus, new: RequestStatus, **values: Any) -> bool:
        """One conditional UPDATE; True only for the caller that changed the row (IllegalTransition for a move
        the life cycle does not declare)."""
        return _transition.transition(self.session, AccessRequest, request_id, expected, new, **values)

    def cancel_pending_for(self, account_ids: Sequence[int], now: datetime, message: str) -> int:
        """Cancel pending requests of accounts about to be removed, so nobody approves them afterwards."""
        if not account_ids:
            return 0
        return _transition.transition_all(
            self.session, AccessRequest, RequestStatus.PENDING, RequestStatus.CANCELLED,
            AccessRequest.account_id.in_(account_ids),
            updated_at=now, failure_code="account_removed", failure_message=message)

    def claim_grant(self, request_id: int, attempts: int, now: datetime) -> bool:
        """Take an approved request for granting: bump its attempt counter if nobody else did."""
        return _transition.claim(self.session, AccessRequest, request_id, RequestStatus.APPROVED,
                                 AccessRequest.grant_attempts == attempts, grant_attempts=attempts + 1, updated_at=now)

    def decisions(self, request_id: int) -> Sequence[Decision]:
        return self.session.scalars(
            select(Decision).where(Decision.request_id == request_id).order_by(Decision.id)
        ).all()

    def decisions_of(self, request_ids: Sequence[int]) -> dict[int, list[Decision]]:
        """The decisions of several requests in one query, by request id."""
        found: dict[int, list[Decision]] = {request_id: [] for request_id in request_ids}
        if request_ids:
            for decision in self.session.scalars(select(Decision).where(Decision.request_id.in_(request_ids))
                                                 .order_by(Decision.id)):
                found[decision.request_id].append(decision)
        return found

    def add_decision(self, decision: Decision) -> None:
        self.session.add(decision)
        self.session.flush()

    def granted_since(self, requester_id: str, account_id: int, since: datetime) -> int:
        return self.session.scalar(
            select(func.count()).select_from(AccessRequest).where(
                AccessRequest.requester_id == requester_id,
                AccessRequest.account_id == account_id,
                AccessRequest.auto_approved.is_(True),
                # approved: being granted right now
                AccessRequest.status.in_((RequestStatus.APPROVED, RequestStatus.GRANTED)),
                AccessRequest.created_at >= since,
            )
        ) or 0

    def of_requester(self, requester_id: str, statuses: Sequence[RequestStatus],
                     limit: int = 100) -> Sequence[AccessRequest]:
        return self.session.scalars(
            select(AccessRequest)
            .where(AccessRequest.requester_id == requester_id, AccessRequest.status.in_(statuses))
            .order_by(AccessRequest.created_at.desc()).limit(limit)
        ).all()

    def pending(self, limit: int = 200) -> Sequence[AccessRequest]:
        return self.session.scalars(
            select(AccessRequest).where(AccessRequest.status == RequestStatus.PENDING)
            .order_by(AccessRequest.created_at).limit(limit)
        ).all()

    def claim(self, status: RequestStatus, created_before: datetime, limit: int, *, reminders_sent: int | None = None,
              started_by: datetime | None = None) -> Sequence[AccessRequest]:
        """Rows due for a sweep, locked so other replicas skip them (PostgreSQL; SQLite serialises writers);
        `reminders_sent`: only those that have had exactly that many reminders."""
        query = select(AccessRequest).where(
            AccessRequest.status == status, AccessRequest.created_at <= created_before
        )
        if reminders_sent is not None:
            query = query.where(AccessRequest.reminders_sent == reminders_sent)
        if started_by is not None:  # a scheduled request waits for approval until its start
            query = query.where(or_(AccessRequest.starts_at.is_(None), AccessRequest.starts_at <= started_by))
        return self.session.scalars(
            query.order_by(AccessRequest.created_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def claim_stuck(self, untouched_since: datetime, limit: int) -> Sequence[AccessRequest]:
        """Approved requests nobody has worked on lately (a crash between approval and grant; a scheduled one
        only once its start has passed too), locked so other replicas skip them."""
        return self.session.scalars(
            select(AccessRequest).where(AccessRequest.status == RequestStatus.APPROVED,
                                        AccessRequest.updated_at <= untouched_since,
                                        or_(AccessRequest.starts_at.is_(None),
                                            AccessRequest.starts_at <= untouched_since))
            .order_by(AccessRequest.updated_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def break_glass_since(self, requester_id: str, since: datetime) -> int:
        """Break-glass requests a person made since `since`, over every account."""
        return self.session.scalar(
            select(func.count()).select_from(AccessRequest).where(
                AccessRequest.requester_id == requester_id, AccessRequest.break_glass.is_(True),
                AccessRequest.created_at >= since)
        ) or 0

    def mark_reviewed(self, request_id: int, review: str, by: str, now: datetime) -> bool:
        """Record a break-glass review; False when someone reviewed it first."""
        result = self.session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request_id, AccessRequest.break_glass.is_(True),
                   AccessRequest.review.is_(None))
            .values(review=review, reviewed_by=by, reviewed_at=now, updated_at=now)
        )
        return bool(rowcount(result))

    def claim_unreviewed(self, due_before: datetime, limit: int) -> Sequence[AccessRequest]:
        """Break-glass grants still owed a review, last brought up before `due_before`, locked for one replica."""
        return self.session.scalars(
            select(AccessRequest).where(
                AccessRequest.break_glass, AccessRequest.review.is_(None),  # the partial index's own predicate
                AccessRequest.created_at <= due_before,
                or_(AccessRequest.reminded_at.is_(None), AccessRequest.reminded_at <= due_before))
            .order_by(AccessRequest.created_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def claim_starting(self, now: datetime, limit: int) -> Sequence[int]:
        """Approved scheduled requests whose start has come and that no grant has tried yet, locked for one replica."""
        return self.session.scalars(
            select(AccessRequest.id).where(AccessRequest.status == RequestStatus.APPROVED,
                                           AccessRequest.starts_at.is_not(None),
                                           AccessRequest.starts_at <= now, AccessRequest.grant_attempts == 0)
            .order_by(AccessRequest.starts_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def granted_seconds_since(self, requester_id: str, account_id: int, since: datetime) -> int:
        """How much access (in seconds asked for) a person was granted on an account since `since`."""
        return self.session.scalar(
            select(func.coalesce(func.sum(AccessRequest.duration_seconds), 0)).where(
                AccessRequest.requester_id == requester_id, AccessRequest.account_id == account_id,
                AccessRequest.status == RequestStatus.GRANTED, AccessRequest.created_at >= since)
        ) or 0
