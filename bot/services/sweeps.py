"""Time-driven work: warnings, end notices, timeouts, reminders, crash recovery, revocation retries and clean-up.

Each sweep claims due rows (row locks with SKIP LOCKED on PostgreSQL, serialised writers on SQLite),
marks them and queues small notice rows in the outbox (one per fifty claimed rows) in the same transaction
(see `notices.deliver`): no Slack call and no rendering happens in a tick. Another replica never sees a
claimed row; the outbox's workers render the notices after the commit (`render_notice`) and deliver
their messages, with retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import RequestStatus, SessionStatus
from bot.services.base import Clock, Tx, UseCase
from bot.services.break_glass import REMIND_EVERY
from bot.services.grants import GrantService
from bot.services.notices import CARDS_CLOSED, NOW, Args, Mark, Notice, deliver, render
from bot.services.outbox import Job
from bot.services.ports import Notifier, RequestView
from bot.services.read_models import RequestRead, SessionRead
from storage.repositories.deliveries import DeliveryRepository

log = logging.getLogger(__name__)
OUTBOX_KEEP = timedelta(days=7)  # settled outbox rows stay this long (what was sent, for an operator), then go
OUTBOX_PRUNE_BATCH = 5000  # at most this many deleted at a time
STUCK_AFTER = timedelta(minutes=2)  # an approved request untouched this long lost its grant to a crash
GRANT_ATTEMPTS = 2  # the grant that crashed and one retry
GAVE_UP = "pam-bot was interrupted while creating the console session and could not finish it; please ask again."


@dataclass(frozen=True)
class TickReport:
    """How many rows each sweep handled in one tick."""

    recovered: int = 0
    expired: int = 0
    reminded: int = 0
    ended: int = 0
    warned: int = 0
    pruned: int = 0
    revocations: int = 0  # tries at cutting `revoking` sessions in AWS
    break_glass_reminded: int = 0
    started: int = 0  # scheduled requests granted at their start
    links_lost: int = 0  # sessions whose link died with its process, offered a new link
    outbox_pruned: int = 0  # outbox rows settled more than OUTBOX_KEEP ago, deleted


class SweepService(UseCase):
    """The scheduler's work; every method is safe to run on several replicas at once.

    A sweep claims up to `batch` rows a transaction, `max_batches` times a tick: a batch costs a few statements
    and a commit whatever its size, so batches are large; the rest waits for the next tick. The sweeps that grant
    take `grant_batch` a tick, since each grant calls AWS."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, notifier: Notifier, grants: GrantService,
                 warning: timedelta, request_timeout: timedelta, batch: int = 1000, max_batches: int = 2,
                 grant_batch: int = 200,
                 prune_revocations: Callable[[], int] = lambda: 0,
                 prune_every: timedelta = timedelta(minutes=5),
                 retry_revocations: Callable[[], int] = lambda: 0, reminders: Sequence[timedelta] = ()) -> None:
        super().__init__(db=db, clock=clock)
        self.notifier = notifier
        self.grants = grants
        self.warning = warning
        self.request_timeout = request_timeout
        self.batch = batch
        self.grant_batch = grant_batch  # the sweeps that grant (a scheduled start, a crashed grant) take fewer
        self.max_batches = max_batches
        self.prune_revocations = prune_revocations
        self.prune_every = prune_every
        self.retry_revocations = retry_revocations  # claims due rows itself (SKIP LOCKED), like the sweeps here
        self.reminders = tuple(reminders)
        self._pruned_at: dict[str, datetime] = {}  # when each clean-up last ran
        self.notices = {notice.action: notice for notice in (
            Notice("session.warned", SessionRead, lambda view, args: notifier.warn_expiry(view), _session_details),
            Notice("session.ended", SessionRead, lambda view, args: notifier.announce_end(view), _session_details),
            Notice("request.expired", RequestRead, lambda view, args: self._tell_expired(view)),
            Notice("request.reminded", RequestRead,
                   lambda view, args: notifier.remind_approvers(view, final=bool(args["last"]))),
            Notice("request.break_glass_reminded", RequestRead, lambda view, args: notifier.remind_break_glass(view)),
            Notice("session.grant", RequestRead, lambda view, args: self._tell_failed(view),
                   lambda row, request, args: {"code": "grant_interrupted", "attempts": request.grant_attempts,
                                               "message": GAVE_UP}, outcome="failed"),
            # Not a sweep's: queued by the outbox when Slack refused one of a request's first cards for good.
            Notice(CARDS_CLOSED, RequestRead, lambda view, args: notifier.update_request_cards(view)),
        )}

    def tick(self) -> TickReport:
        """Every sweep once; one failing sweep does not stop the others."""
        sweeps = {"recovered": self.recover_stuck, "expired": self.expire_requests,
                  "reminded": self.remind_approvers, "ended": self.end_sessions, "warned": self.warn_sessions,
                  "pruned": self.prune, "revocations": self.retry_revocations,
                  "break_glass_reminded": self.remind_break_glass, "started": self.start_scheduled,
                  "links_lost": self.grants.offer_lost_links, "outbox_pruned": self.prune_outbox}
        return TickReport(**{name: _guarded(name, sweep) for name, sweep in sweeps.items()})

    def warn_sessions(self) -> int:
        """DM people whose session ends within the warning window (once, with a Request again button)."""
        return self._drain(lambda tx: tx.sessions.claim_due_warning(tx.now, tx.now + self.warning, self.batch),
                           "session.warned", _set(warned_at=True))

    def end_sessions(self) -> int:
        """Mark sessions past their expiry ended; DM the owner and update the approval card."""
        return self._drain(lambda tx: tx.sessions.claim_due_end(tx.now, self.batch),
                           "session.ended", _set(status=SessionStatus.ENDED, ended_at=True))

    def expire_requests(self) -> int:
        """Pending requests older than the timeout become `expired`; card and requester are told."""
        return self._drain(lambda tx: tx.requests.claim(RequestStatus.PENDING, tx.now - self.request_timeout,
                                                        self.batch, started_by=tx.now),
                           "request.expired", _set(status=RequestStatus.EXPIRED, updated_at=True))

    def remind_approvers(self) -> int:
        """Nudge approvers in the card's thread at each offset of the reminder schedule (default: once, half-way
        to the timeout); the last reminder also escalates where the account says (`escalate_to`)."""
        offsets = self.reminders or (self.request_timeout / 2,)
        handled = 0
        for step, offset in enumerate(offsets):
            handled += self._remind(step, offset, final=step == len(offsets) - 1)
        return handled

    def _remind(self, step: int, offset: timedelta, *, final: bool) -> int:
        """One reminder of the schedule: to pending requests `offset` old that have had `step` reminders."""
        return self._drain(
            lambda tx: tx.requests.claim(RequestStatus.PENDING, tx.now - offset, self.batch, reminders_sent=step),
            "request.reminded", _set(reminded_at=True, reminders_sent=step + 1), {"reminder": step + 1, "last": final})

    def remind_break_glass(self) -> int:
        """Bring each unreviewed break-glass grant up again in its card's thread, every half hour, until reviewed."""
        return self._drain(lambda tx: tx.requests.claim_unreviewed(tx.now - REMIND_EVERY, self.batch),
                           "request.break_glass_reminded", _set(reminded_at=True))

    def start_scheduled(self) -> int:
        """Grant the approved requests whose scheduled start has come (the grant's own claim keeps it to once)."""
        with self.transaction() as tx:
            due = tx.requests.claim_starting(tx.now, self.grant_batch)
        return sum(1 for request_id in due if self.grants.grant(request_id) is not None)

    def recover_stuck(self) -> int:
        """Approved requests a crash left without a session: retry the grant once, then fail them loudly."""
        with self.transaction() as tx:
            rows = tx.requests.claim_stuck(tx.now - STUCK_AFTER, self.grant_batch)
            retry = [(row.id, row.ref) for row in rows if row.grant_attempts < GRANT_ATTEMPTS]
            handled = deliver(tx, [row for row in rows if row.grant_attempts >= GRANT_ATTEMPTS],  # given up
                              self.notices["session.grant"],
                              _set(status=RequestStatus.FAILED, updated_at=True, failure_code="grant_interrupted",
                                   failure_message=GAVE_UP))
        for request_id, ref in retry:
            # The grant's own conditional claim decides between replicas that both saw the row.
            view = self.grants.grant(request_id, max_attempts=GRANT_ATTEMPTS)
            if view is not None:
                self.record("pam-bot", "session.grant_retry", ref, outcome="ok" if view.session else "failed",
                            status=view.request.status)
                handled += 1
        return handled

    def prune(self) -> int:
        """Remove old revocation statements, at most every `prune_every` (each costs AWS calls)."""
        return self.prune_revocations() if self._time_to("revocations") else 0

    def prune_outbox(self) -> int:
        """Delete outbox rows settled (sent, refused or superseded) more than OUTBOX_KEEP ago, at most every
        `prune_every`; rows still queued are never touched."""
        if not self._time_to("outbox"):
            return 0
        with self.transaction() as tx:
            return DeliveryRepository(tx.session).prune(tx.now - OUTBOX_KEEP, OUTBOX_PRUNE_BATCH)

    def _time_to(self, chore: str) -> bool:
        """Whether the clean-up `chore` last ran at least `prune_every` ago (it is then taken to run now)."""
        now, last = self.clock(), self._pruned_at.get(chore)
        if last is not None and now - last < self.prune_every:
            return False
        self._pruned_at[chore] = now
        return True

    def render_notice(self, job: Job) -> int:
        """Render the notices of an outbox row a tick queued (an outbox worker calls this): their messages, their
        audit events and the row's settling commit together. How many were rendered."""
        with self.transaction() as tx:
            return render(tx, job.id, self.notices)

    def _drain(self, claim: Callable[[Tx], Sequence[Row[Any]]], action: str, mark: Mark,
               args: Args | None = None) -> int:
        """Batches in short transactions until nothing is due or `max_batches` ran."""
        handled = 0
        for _ in range(self.max_batches):
            with self.transaction() as tx:
                marked = deliver(tx, claim(tx), self.notices[action], mark, args)
            handled += marked
            if marked < self.batch:
                break
        return handled

    def _tell_expired(self, view: RequestView) -> None:
        self.notifier.update_request_cards(view)
        self.notifier.tell_requester(view, "expired")

    def _tell_failed(self, view: RequestView) -> None:
        self.notifier.update_request_cards(view)
        self.notifier.tell_requester(view, "failed")
        self.notifier.tell_approvers(view, "failed")


def _set(**values: Any) -> Mark:
    """A mark: set these columns; `True` stands for the transaction's time. A status set here is checked
    against the declared life cycle when the batch is written (the rows are held by the sweep's claim)."""
    return Mark({name: NOW if value is True else value for name, value in values.items()})


def _session_details(row: SessionRead | RequestRead, request: RequestRead, args: Args) -> dict[str, Any]:
    assert isinstance(row, SessionRead)
    return {"request": request.ref, "owner": row.requester_id, "role_session_name": row.role_session_name,
            "expires_at": row.expires_at.isoformat()}


def _guarded(name: str, sweep: Callable[[], int]) -> int:
    try:
        return sweep()
    except Exception:  # one broken sweep must not starve the others; the next tick retries
        log.exception("sweep %s failed", name)
        return 0
