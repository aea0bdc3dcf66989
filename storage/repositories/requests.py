"""Access requests and their decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, bindparam, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.states import OPEN_REQUEST_STATUSES, RequestStatus
from storage.models import AccessRequest, AccessSession, Account, Decision, Resource
from storage.repositories.results import rowcount
from storage.repositories import _transition
from storage.repositories._rows import add_row

REQUESTS, DECISIONS = AccessRequest.__table__, Decision.__table__
CLAIMED: tuple[Any, ...] = (REQUESTS.c.id, REQUESTS.c.ref, REQUESTS.c.status)  # what a sweep reads of its claims


class Locked(NamedTuple):
    """A request read for a decision (`RequestRepository.locked_with_account`)."""

    request: AccessRequest
    account: tuple[Resource, Account] | None  # None when the account was removed
    session_ref: str | None  # the ref offered for its session, when no session has it (None: taken, or none offered)


class RequestRepository:
    """Access requests and their decisions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_ref(self, ref: str, *, lock: bool = False) -> AccessRequest | None:
        """Find by public ref; `lock` serialises deciders on one request (SELECT ... FOR UPDATE)."""
        query = select(AccessRequest).where(AccessRequest.ref == ref)
        return self.session.scalar(query.with_for_update() if lock else query)

    def locked_with_account(self, ref: str, *, session_ref: str | None = None) -> Locked | None:
        """A request by public ref, locked like `by_ref(lock=True)`, with its account and resource read in the
        same statement, and whether `session_ref` (a ref its grant could take) is free; None when there is no such
        request. One statement, built once: an approval that grants at once needs all three."""
        row = self.session.execute(_locked_with_account(session_ref is not None),
                                   {"ref": ref, "session_ref": session_ref}).first()
        if row is None:
            return None
        request, resource, account, is_taken = row
        return Locked(request, (resource, account) if resource is not None and account is not None else None,
                      None if is_taken else session_ref)

    def cards_of(self, request_id: int) -> tuple[dict[str, str], ...]:
        """Where a request's cards landed (one column, no object loaded); none for no such request."""
        cards = self.session.connection().execute(_CARDS, {"row_id": request_id}).scalar()
        return tuple(dict(card) for card in cards or ())

    def by_id(self, request_id: int) -> AccessRequest | None:
        return self.session.get(AccessRequest, request_id)

    def rows_by_ids(self, request_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """Several requests in one query, as plain rows (a batch of notices copies them into read models)."""
        if not request_ids:
            return []
        return self.session.execute(select(REQUESTS).where(
            _transition.among(self.session, REQUESTS.c.id, request_ids))).all()

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

    def extension_since(self, session_ref: str, since: datetime) -> AccessRequest | None:
        """The newest extension of a session asked for at or after `since` (whatever its status)."""
        return self.session.scalars(
            select(AccessRequest).where(AccessRequest.extends == session_ref, AccessRequest.created_at >= since)
            .order_by(AccessRequest.id.desc()).limit(1)
        ).first()

    def transition(self, request_id: int, expected: RequestStatus, new: RequestStatus,
                   **values: Any) -> AccessRequest | None:
        """One conditional UPDATE; the request as it is now for the caller that changed it, None for any other
        (IllegalTransition for a move the life cycle does not declare)."""
        return _transition.transition(self.session, AccessRequest, request_id, expected, new, **values)

    def cancel_pending_for(self, account_ids: Sequence[int], now: datetime, message: str) -> int:
        """Cancel pending requests of accounts about to be removed, so nobody approves them afterwards."""
        if not account_ids:
            return 0
        return _transition.transition_all(
            self.session, AccessRequest, RequestStatus.PENDING, RequestStatus.CANCELLED,
            AccessRequest.account_id.in_(account_ids),
            updated_at=now, failure_code="account_removed", failure_message=message)

    def claim_grant(self, request_id: int, attempts: int, now: datetime) -> AccessRequest | None:
        """Take an approved request for granting: bump its attempt counter if nobody else did; the request as it is
        now for the caller that took it, None for any other."""
        return _transition.claim(self.session, AccessRequest, request_id, RequestStatus.APPROVED,
                                 AccessRequest.grant_attempts == attempts, grant_attempts=attempts + 1, updated_at=now)

    def decisions(self, request_id: int) -> Sequence[Decision]:
        return self.session.scalars(
            select(Decision).where(Decision.request_id == request_id).order_by(Decision.id)
        ).all()

    def decision_rows_of(self, request_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
        """The decisions of several requests in one query, by request id, as plain rows (a batch of notices)."""
        found: dict[int, list[Row[Any]]] = {request_id: [] for request_id in request_ids}
        if request_ids:
            for decision in self.session.execute(
                    select(DECISIONS).where(_transition.among(self.session, DECISIONS.c.request_id, request_ids))
                    .order_by(DECISIONS.c.id)):
                found[decision.request_id].append(decision)
        return found

    def add_decision(self, decision: Decision) -> None:
        """Write a new decision (its id set on it); IntegrityError when its approver has decided already."""
        add_row(self.session, decision)

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
              started_by: datetime | None = None) -> Sequence[Row[Any]]:
        """Rows due for a sweep, locked so other replicas skip them (PostgreSQL; SQLite serialises writers);
        `reminders_sent`: only those that have had exactly that many reminders. Claims return plain rows with
        what a sweep needs to mark them and queue their notices (id, ref, status): the notices are rendered later."""
        query = select(*CLAIMED).where(REQUESTS.c.status == status, REQUESTS.c.created_at <= created_before)
        if reminders_sent is not None:
            query = query.where(REQUESTS.c.reminders_sent == reminders_sent)
        if started_by is not None:  # a scheduled request waits for approval until its start
            query = query.where(or_(REQUESTS.c.starts_at.is_(None), REQUESTS.c.starts_at <= started_by))
        return self.session.execute(
            query.order_by(REQUESTS.c.created_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def claim_stuck(self, untouched_since: datetime, limit: int) -> Sequence[Row[Any]]:
        """Approved requests nobody has worked on lately (a crash between approval and grant; a scheduled one
        only once its start has passed too), locked so other replicas skip them."""
        return self.session.execute(
            select(REQUESTS).where(REQUESTS.c.status == RequestStatus.APPROVED,
                                   REQUESTS.c.updated_at <= untouched_since,
                                   or_(REQUESTS.c.starts_at.is_(None), REQUESTS.c.starts_at <= untouched_since))
            .order_by(REQUESTS.c.updated_at).limit(limit).with_for_update(skip_locked=True)
        ).all()

    def mark(self, ids: Sequence[int], current: RequestStatus, **values: Any) -> int:
        """Set `values` on the claimed requests `ids` that are still `current`, in one UPDATE; a new `status`
        among the values is checked against the life cycle first. How many rows it changed."""
        return _transition.mark_all(self.session, AccessRequest, ids, current, **values)

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

    def claim_unreviewed(self, due_before: datetime, limit: int) -> Sequence[Row[Any]]:
        """Break-glass grants still owed a review, last brought up before `due_before`, locked for one replica."""
        return self.session.execute(
            select(*CLAIMED).where(
                REQUESTS.c.break_glass, REQUESTS.c.review.is_(None),  # the partial index's own predicate
                REQUESTS.c.created_at <= due_before,
                or_(REQUESTS.c.reminded_at.is_(None), REQUESTS.c.reminded_at <= due_before))
            .order_by(REQUESTS.c.created_at).limit(limit).with_for_update(skip_locked=True)
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


_CARDS = select(REQUESTS.c.cards).where(REQUESTS.c.id == bindparam("row_id"))


@cache
def _locked_with_account(offers_ref: bool) -> Select[AccessRequest, Resource, Account, bool]:
    """`locked_with_account`'s query, built once for each shape (building it cost more than its round trip)."""
    taken = exists().where(AccessSession.ref == bindparam("session_ref")) if offers_ref else literal(True)
    return (select(AccessRequest, Resource, Account, taken)
            .outerjoin(Account, Account.id == AccessRequest.account_id)
            .outerjoin(Resource, Resource.id == Account.resource_id)
            .where(AccessRequest.ref == bindparam("ref")).with_for_update(of=AccessRequest))
