"""The Slack outbox: messages queued with the change that owes them, delivered later by workers with retries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.services.base import Tx, UseCase, current_session
from bot.services.first_cards import CARD_POSTS, card_refused
from storage.models import Delivery
from storage.repositories.deliveries import DONE, FAILED, DeliveryRepository

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # longer than one Slack call with its in-thread waits
BACKOFF = (1, 5, 30, 120, 600)  # seconds before the next try, by attempts made; then every 10 minutes
GIVE_UP = timedelta(hours=2)  # a row Slack has not taken this long after it was queued fails for good


@dataclass(frozen=True)
class Job:
    """A claimed row, detached from its transaction."""

    id: int
    kind: str
    channel: str
    ts: str | None
    payload: dict[str, Any]
    request_id: int | None
    report_to: str | None
    attempts: int
    sending_since: datetime | None  # an earlier attempt may have landed: look before posting again
    superseded: bool = False  # a newer row with the same key waits: this state is stale
    places: tuple[dict[str, str], ...] = ()  # where a request's cards landed, for an update that names none itself


class DeliveryFailed(Exception):
    """Slack did not take the call: `permanent` when trying again cannot help; `retry_after` from a 429."""

    def __init__(self, code: str, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 unknown: bool = False) -> None:
        super().__init__(code)
        self.code, self.message = code, message
        self.permanent, self.retry_after = permanent, retry_after
        self.unknown = unknown  # the call may have landed (a timeout): keep `sending_since` for the lookup


class Sender(Protocol):
    """The Slack side of delivery."""

    def send(self, job: Job) -> dict[str, str]:
        """Make the call; return where it landed ({channel, ts}); raise DeliveryFailed."""

    def find(self, job: Job) -> dict[str, str] | None:
        """The message an earlier attempt of this post landed, if Slack has it; raise DeliveryFailed."""


def backoff(attempts: int) -> float:
    return float(BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


class Outbox(UseCase):
    """Queue, claim and settle deliveries; each step is its own short transaction."""

    def queue(self, kind: str, channel: str, payload: dict[str, Any], *, ts: str | None = None,
              dedupe_key: str | None = None, request_id: int | None = None, report_to: str | None = None,
              delay: float = 0.0) -> None:
        """Queue in the caller's transaction when there is one (so the row commits with its change), else alone.
        `delay`: seconds before the row is due (a newer state of its key queued meanwhile replaces it, due now)."""
        item = {"kind": kind, "channel": channel, "payload": payload, "ts": ts, "dedupe_key": dedupe_key,
                "request_id": request_id, "report_to": report_to, **({"delay": delay} if delay else {})}
        session = current_session.get()
        if session is not None:
            DeliveryRepository(session).buffer(item)  # written with the transaction's commit (UseCase.transaction)
            return
        with self.transaction() as tx:
            DeliveryRepository(tx.session).buffer(item)

    def claim(self, limit: int = 1) -> list[Job]:
        return self.claim_and_look(limit)[0]

    def claim_and_look(self, limit: int = 1) -> tuple[list[Job], bool]:
        """Up to `limit` due rows, leased to the caller, and whether another one is due."""
        with self.transaction() as tx:
            repo = DeliveryRepository(tx.session)
            rows, more = repo.claim_and_look(tx.now, tx.now + LEASE, limit)
            return [Job(row.id, row.kind, row.channel, row.ts, dict(row.payload), row.request_id, row.report_to,
                        row.attempts, row.sending_since, repo.newer_queued(row), _places(tx, row))
                    for row in rows], more

    def begin(self, job: Job) -> datetime:
        """Mark the attempt as started, in its own commit, before Slack is called; return when it started."""
        with self.transaction() as tx:
            return DeliveryRepository(tx.session).start_sending(job.id, tx.now) or tx.now

    def landed(self, job: Job, result: dict[str, str] | None) -> None:
        """Record what Slack took (a first card's place joins its request) and close the row."""
        with self.transaction() as tx:
            repo = DeliveryRepository(tx.session)
            if not repo.settle(job.id, DONE, tx.now, result=result):
                return
            if result is not None and job.request_id is not None and job.kind in CARD_POSTS:
                repo.record_card(job.request_id, {"channel": result["channel"], "ts": result["ts"]})

    def retry(self, job: Job, error: DeliveryFailed, delay: float) -> bool:
        """Put the row back for `delay` seconds; False (and failed) when it has waited too long already."""
        with self.transaction() as tx:
            row = DeliveryRepository(tx.session).get(job.id)
            if row is None:
                return False
            if tx.now - row.created_at > GIVE_UP:
                self._fail(tx, row.id, error)
                tx.audit("pam-bot", "slack.delivery", str(row.id), "failed", code=error.code, kind=row.kind,
                         channel=row.channel, attempts=row.attempts)
                return False
            row.due_at, row.lease_until, row.error_code = tx.now + timedelta(seconds=delay), None, error.code
            if not error.unknown:
                row.sending_since = None
            return True

    def fail(self, job: Job, error: DeliveryFailed) -> None:
        """Slack refused for good: close the row, audit it, and tell the one person who should hear of it (a first
        approval card's refusal cancels its request, which tells the requester)."""
        with self.transaction() as tx:
            self._fail(tx, job.id, error)
            tx.audit("pam-bot", "slack.delivery", str(job.id), "failed", code=error.code, kind=job.kind,
                     channel=job.channel, attempts=job.attempts)
        log.warning("delivery %s (%s to %s) refused: %s", job.id, job.kind, job.channel, error.code)

    def _fail(self, tx: Tx, delivery_id: int, error: DeliveryFailed) -> None:
        repo = DeliveryRepository(tx.session)
        row = repo.get(delivery_id)
        if row is None:
            return
        row.state, row.error_code, row.done_at, row.lease_until = FAILED, error.code, tx.now, None
        if row.request_id is not None and row.kind in CARD_POSTS:
            card_refused(tx, row.request_id, error.code, error.message)
        if row.report_to and row.report_to != row.channel:
            repo.add("dm", row.report_to, {"text": f"pam-bot could not deliver a message to "
                                                   f"{_where(row.channel)}: {error.message}"}, tx.now)

    def idle(self) -> bool:
        """Nothing due is waiting or in flight (rows waiting out a backoff do not count)."""
        with self.transaction() as tx:
            return DeliveryRepository(tx.session).due(tx.now) == 0

    def depth(self) -> tuple[int, float]:
        """Rows waiting for Slack and the age in seconds of the oldest (for metrics)."""
        with self.transaction() as tx:
            return DeliveryRepository(tx.session).depth(tx.now)


def _places(tx: Tx, row: Delivery) -> tuple[dict[str, str], ...]:
    """An update of a request's cards is queued without their places (the first post may not have landed then):
    it is claimed only after the posts of its key settled, so the request now lists every card that landed."""
    if row.kind != "update" or row.ts is not None or row.request_id is None:
        return ()
    return tx.requests.cards_of(row.request_id)


def _where(channel: str) -> str:
    return f"<@{channel}>" if channel[:1] in "UW" else f"<#{channel}>"
