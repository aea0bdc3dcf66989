"""The outbox's rows: queue (replacing a queued latest-state row), claim with a lease (SKIP LOCKED), settle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import (BindParameter, ColumnElement, Integer, Select, String, Table, Update, any_, bindparam, delete,
                        exists, func, null, or_, select, update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from storage.models import AccessRequest, Delivery
from storage.repositories._bulk import insert_in_order
from storage.repositories.results import rowcount

QUEUED, DONE, FAILED = "queued", "done", "failed"
# Rows that carry a latest state (a card's, a Home tab's): a newer one with the same key replaces a waiting one's
# payload, and a waiting one with a newer behind it is stale. Posts are never replaced nor skipped: each must land.
REPLACEABLE = ("update", "publish")
DELIVERIES = cast(Table, Delivery.__table__)
_EARLIER = aliased(Delivery)  # built once: an alias copies every column, which cost more than the claim's query
BUFFER = "pam_outbox"  # Session.info key: rows queued in this transaction, written in one go before it commits


class DeliveryRepository:
    """Queries over the `deliveries` table; flushes, never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, kind: str, channel: str, payload: dict[str, Any], now: datetime, *, ts: str | None = None,
            dedupe_key: str | None = None, request_id: int | None = None, report_to: str | None = None) -> int:
        """Queue one call; a queued, unclaimed update with the same `dedupe_key` takes the newer payload instead."""
        if dedupe_key is not None and kind in REPLACEABLE:
            waiting = self.session.scalars(
                select(Delivery).where(Delivery.dedupe_key == dedupe_key, Delivery.state == QUEUED,
                                       Delivery.kind.in_(REPLACEABLE),
                                       or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now))
                .order_by(Delivery.id.desc()).limit(1).with_for_update(skip_locked=True)).first()
            if waiting is not None:
                waiting.payload, waiting.due_at = payload, sooner(waiting, now)
                self.session.flush()
                return waiting.id
        row = Delivery(kind=kind, channel=channel, ts=ts, payload=payload, dedupe_key=dedupe_key,
                       request_id=request_id, report_to=report_to, state=QUEUED, created_at=now, due_at=now,
                       attempts=0)
        self.session.add(row)
        self.session.flush()
        return row.id

    def buffer(self, item: dict[str, Any]) -> None:
        """Hold a row (the keyword arguments of `add`) until `flush_buffer`: a sweep queues hundreds at once."""
        self.session.info.setdefault(BUFFER, []).append(item)

    def buffered(self) -> int:
        return len(self.session.info.get(BUFFER, ()))

    def drop_buffered(self, keep: int) -> None:
        """Forget the rows buffered after the first `keep` (their change was undone)."""
        del self.session.info.setdefault(BUFFER, [])[keep:]

    def flush_buffer(self, now: datetime) -> int:
        """Write the buffered rows: keyed updates replace a waiting update's payload (due by the sooner of the two),
        the rest in one INSERT per delay (an item's `delay`: seconds before it is due); how many are due now (a
        row that waits is found by the deliverers' poll when its time comes: waking them now would find nothing)."""
        items = self.session.info.pop(BUFFER, [])
        if not items:
            return 0
        latest = {key: item for item in items if (key := _replaces(item))}
        connection = self.session.connection()
        postgresql = connection.dialect.name == "postgresql"
        # The newest waiting row per key (a Core read and UPDATE: no object loaded, nothing for a flush to find).
        waiting = {row.dedupe_key: row for row in connection.execute(_waiting(postgresql), {
            "keys": list(latest), "now": now})} if latest else {}
        fresh: dict[datetime, list[dict[str, Any]]] = {}  # by due time: rows due now first, in their order
        due_now = 0
        for item in items:
            key = _replaces(item)
            if key and latest[key] is not item:
                continue  # a later state of the same key was queued in this transaction
            due = now + timedelta(seconds=item.get("delay", 0.0))
            if key and key in waiting:
                due_at = sooner(waiting[key], due)
                connection.execute(_replace(), {"row_id": waiting[key].id, "payload": item["payload"], "due_at": due_at})
                due_now += due_at <= now
                continue
            due_now += due <= now
            fresh.setdefault(due, []).append({"ts": None, "dedupe_key": None, "request_id": None, "report_to": None,
                                              **{k: v for k, v in item.items() if k != "delay"}})
        for due in sorted(fresh):
            insert_in_order(self.session, DELIVERIES, fresh[due], state=QUEUED, created_at=now, due_at=due, attempts=0)
        return due_now

    def claim_and_look(self, now: datetime, lease_until: datetime, limit: int) -> tuple[Sequence[Delivery], bool]:
        """Due rows nobody holds, oldest first, leased to the caller (others' claims are skipped, not waited for),
        and whether one more was due (read in the same query, not leased). On PostgreSQL one statement, as the
        inbox's claim (a row another transaction is claiming right now may count as the one more); SQLite serves
        one process: the rows and one more are read, then leased.

        A row waits while an older row with its key is unsettled: the older one goes first (a card's first post
        before its updates), and an older state then finds it is stale.
        """
        if self.session.get_bind().dialect.name == "postgresql":  # one UPDATE … RETURNING (see _claim)
            claimed = self.session.execute(_claim(), {"now": now, "lease_until": lease_until, "limit": limit},
                                           execution_options={"populate_existing": True}).all()
            return [row for row, _ in sorted(claimed, key=lambda pair: (pair[0].due_at, pair[0].id))], \
                bool(claimed and claimed[0][1])
        found = self.session.scalars(_due(limit + 1), {"now": now}).all()
        rows = found[:limit]
        for row in rows:
            row.lease_until = lease_until
            row.attempts += 1
        self.session.flush()
        return rows, len(found) > limit

    def get(self, delivery_id: int) -> Delivery | None:
        return self.session.get(Delivery, delivery_id)

    def start_sending(self, delivery_id: int, now: datetime) -> datetime | None:
        """Mark an attempt begun, unless an earlier one was marked and not cleared: when the first began (None when
        there is no such row), in one UPDATE."""
        return self.session.connection().execute(_START, {"row_id": delivery_id, "now": now}).scalar()

    def settle(self, delivery_id: int, state: str, now: datetime, *, result: dict[str, str] | None = None) -> bool:
        """Close a row with what Slack answered, in one UPDATE; False when there is no such row."""
        return rowcount(self.session.connection().execute(_settle(result is not None), {
            "row_id": delivery_id, "state": state, "now": now, "result": result})) == 1

    def settle_queued(self, delivery_id: int, now: datetime) -> dict[str, Any] | None:
        """Close a row that is still queued and return its payload (a notice the caller renders in this
        transaction); None when it was closed already."""
        payload = self.session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.state == QUEUED)
            .values(state=DONE, done_at=now, lease_until=None).returning(Delivery.payload)).scalar()
        return dict(payload) if payload is not None else None

    def prune(self, settled_before: datetime, limit: int) -> int:
        """Delete up to `limit` rows settled before `settled_before` (oldest first); how many."""
        old = select(Delivery.id).where(Delivery.state != QUEUED, Delivery.done_at < settled_before) \
            .order_by(Delivery.id).limit(limit)
        return rowcount(self.session.execute(delete(Delivery).where(Delivery.id.in_(old.scalar_subquery()))))

    def newer_queued(self, row: Delivery) -> bool:
        """Whether a later row with the same key waits behind this update (then its state is already stale)."""
        if row.dedupe_key is None or row.kind not in REPLACEABLE:
            return False
        return self.session.connection().execute(_NEWER, {"key": row.dedupe_key, "row_id": row.id}).first() is not None

    def drop_posts(self, dedupe_key: str, now: datetime, code: str) -> None:
        """Settle the posts with this key that nobody has claimed yet (their request no longer wants them)."""
        self.session.execute(
            update(Delivery).where(Delivery.dedupe_key == dedupe_key, Delivery.state == QUEUED,
                                   Delivery.kind.not_in(REPLACEABLE),
                                   or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now))
            .values(state=FAILED, error_code=code, done_at=now))

    def record_card(self, request_id: int, ref: dict[str, str]) -> None:
        """Add a landed card to its request's `cards` (later updates and thread replies need its ts)."""
        request = self.session.scalars(select(AccessRequest).where(AccessRequest.id == request_id)
                                       .with_for_update()).first()
        if request is not None and ref not in (request.cards or []):
            request.cards = [*(request.cards or []), ref]
            self.session.flush()

    def due(self, now: datetime) -> int:
        """Rows due by `now` and not yet settled (claimed ones included; not one waiting behind an older row of
        its key, such as a card's update behind a first post that waits out its backoff)."""
        return int(self.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.state == QUEUED, Delivery.due_at <= now, _first_of_its_key())) or 0)

    def depth(self, now: datetime) -> tuple[int, float]:
        """How many rows wait for Slack, and the age in seconds of the oldest (0 when none)."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(Delivery.created_at)).where(Delivery.state == QUEUED)).one()
        return int(count or 0), (now - oldest).total_seconds() if oldest is not None else 0.0


@cache
def _due(limit: int) -> Select[Delivery]:
    """The claim's query for `limit` rows, built once (an idle outbox claims several times a second, and building
    the statement cost more than running it)."""
    return (select(Delivery).where(*_due_now(Delivery, _EARLIER))
            .order_by(Delivery.due_at, Delivery.id).limit(limit).with_for_update(skip_locked=True))


def _first_of_its_key(row: Any = Delivery, earlier: Any = _EARLIER) -> ColumnElement[bool]:
    """No older row with the same key is unsettled: rows of one key go one at a time, in order (an older state never
    lands after a newer one, and a card's updates wait for its first post)."""
    return ~exists().where(earlier.dedupe_key == row.dedupe_key, earlier.state == QUEUED, earlier.id < row.id)


def _due_now(row: Any, earlier: Any) -> list[ColumnElement[bool]]:
    """`row` (the table or an alias of it) is due at `:now`, nobody holds it, and no older row of its key waits."""
    now: BindParameter[datetime] = bindparam("now", type_=Delivery.__table__.c.due_at.type)
    return [row.state == QUEUED, row.due_at <= now, or_(row.lease_until.is_(None), row.lease_until <= now),
            _first_of_its_key(row, earlier)]


@cache
def _claim() -> Any:
    """PostgreSQL's claim, built once: the `:limit` oldest due rows nobody holds (SKIP LOCKED), leased until
    `:lease_until`, returned with whether a due row lies past them (a subquery of RETURNING reads the table as the
    statement found it, where the claimed rows are still due)."""
    limit = bindparam("limit", type_=Integer())
    picked, picked_earlier = aliased(Delivery, name="picked"), aliased(Delivery, name="picked_earlier")
    oldest = select(picked.id).where(*_due_now(picked, picked_earlier)).order_by(picked.due_at, picked.id) \
        .limit(limit).with_for_update(skip_locked=True)
    past, past_earlier = aliased(Delivery, name="past"), aliased(Delivery, name="past_earlier")
    more = exists(select(past.id).where(*_due_now(past, past_earlier)).order_by(past.due_at, past.id)
                  .offset(limit).limit(1))
    return (update(Delivery).where(Delivery.id.in_(oldest))
            .values(lease_until=bindparam("lease_until", type_=Delivery.__table__.c.lease_until.type),
                    attempts=Delivery.attempts + 1)
            .returning(Delivery, more.label("more"))
            .execution_options(synchronize_session=False))


@cache
def _waiting(postgresql: bool) -> Select[Any]:
    """`flush_buffer`'s read, built once: the queued latest-state rows of the keys `:keys` that nobody holds at
    `:now`, oldest first, locked (a row another transaction holds is skipped: a new row is queued instead)."""
    table, keys = DELIVERIES.c, bindparam("keys", type_=ARRAY(String()))
    now = bindparam("now", type_=table.lease_until.type)
    return (select(table.id, table.dedupe_key, table.due_at, table.attempts)
            .where(table.dedupe_key == any_(keys) if postgresql else table.dedupe_key.in_(
                   bindparam("keys", expanding=True)),
                   table.state == QUEUED, table.kind.in_(REPLACEABLE),
                   or_(table.lease_until.is_(None), table.lease_until <= now))
            .order_by(table.id).with_for_update(skip_locked=True))


_START = (update(DELIVERIES).where(DELIVERIES.c.id == bindparam("row_id"))
          .values(sending_since=func.coalesce(DELIVERIES.c.sending_since,
                                              bindparam("now", type_=DELIVERIES.c.sending_since.type)))
          .returning(DELIVERIES.c.sending_since))
_NEWER = select(DELIVERIES.c.id).where(DELIVERIES.c.dedupe_key == bindparam("key"), DELIVERIES.c.state == QUEUED,
                                       DELIVERIES.c.id > bindparam("row_id")).limit(1)


@cache
def _settle(with_result: bool) -> Update:
    """`settle`'s UPDATE, built once for each shape (a row settled without a result gets SQL NULL, not JSON null)."""
    table = DELIVERIES.c
    return update(DELIVERIES).where(table.id == bindparam("row_id")).values(
        state=bindparam("state", type_=table.state.type), done_at=bindparam("now", type_=table.done_at.type),
        lease_until=None, result=bindparam("result", type_=table.result.type) if with_result else null())


@cache
def _replace() -> Update:
    """A waiting row takes a newer state: its payload, and when it is due."""
    table = DELIVERIES.c
    return update(DELIVERIES).where(table.id == bindparam("row_id")).values(
        payload=bindparam("payload", type_=table.payload.type), due_at=bindparam("due_at", type_=table.due_at.type))


class _Waiting(Protocol):
    due_at: datetime
    attempts: int


def sooner(waiting: _Waiting, due: datetime) -> datetime:
    """When a waiting row whose payload a newer state replaces is due: no later than the newer state wants, unless
    it is waiting out a failed try's backoff or a 429's Retry-After, which the newer state must wait out too."""
    return min(waiting.due_at, due) if waiting.attempts == 0 else waiting.due_at


def _replaces(item: dict[str, Any]) -> str | None:
    """The key under which a buffered row replaces an older state, if it is a latest-state row."""
    return item.get("dedupe_key") if item["kind"] in REPLACEABLE else None
