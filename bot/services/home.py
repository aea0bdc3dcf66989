"""App Home use-case: what one person sees on pam-bot's Home tab, handed to a publisher port."""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.eligibility import CheckFailed
from bot.domain.errors import NotifyFailed
from bot.domain.states import RequestStatus
from bot.services.approvers import resolve_approvers
from bot.services.base import Clock, Tx, UseCase
from bot.services.lookups import GroupCache
from bot.services.ports import Directory
from storage.models import AccessRequest, Decision

log = logging.getLogger(__name__)
SHOWN = 10  # items per list the Home tab shows; the rest are counted
SCAN = 500  # pending requests looked at for one approver's list
STRIPES = 64  # locks that order each person's publishes (a person always maps to the same one)


@dataclass(frozen=True)
class SessionItem:
    ref: str
    resource: str
    account: str
    expires_at: datetime
    role_session_name: str
    continues: str | None = None  # the session this one extends


@dataclass(frozen=True)
class RequestItem:
    ref: str
    resource: str
    account: str
    requester_id: str
    duration_seconds: int
    reason: str
    created_at: datetime
    approvals: int = 0
    approvals_required: int = 1


@dataclass(frozen=True)
class ConfigSummary:
    """What an admin sees about the configuration."""

    resources: int
    accounts: int
    admins: int
    resource_names: tuple[str, ...]


@dataclass(frozen=True)
class HomeData:
    """One person's Home tab: the first items of each list and how many there are in all."""

    user_id: str
    sessions: tuple[SessionItem, ...] = ()
    sessions_total: int = 0
    pending: tuple[RequestItem, ...] = ()
    pending_total: int = 0
    to_approve: tuple[RequestItem, ...] = ()
    to_approve_total: int = 0
    config: ConfigSummary | None = None  # only for admins


class HomePublisher(Protocol):
    """Shows HomeData to its person (the Slack adapter renders it and calls views.publish)."""

    def publish(self, data: HomeData) -> None:
        """Raise NotifyFailed when Slack would not take it."""


class HomeService(UseCase):
    """Queries for the Home tab; publishing goes through the port so no Slack call happens here."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, directory: Directory,
                 admin_ids: Callable[[], frozenset[str]], publisher: HomePublisher | None = None,
                 shown: int = SHOWN) -> None:
        super().__init__(db=db, clock=clock)
        self.directory = directory
        self.admin_ids = admin_ids
        self.publisher = publisher
        self.shown = shown
        self._publishing = [threading.Lock() for _ in range(STRIPES)]

    def publish(self, user_id: str) -> HomeData:
        """Render and publish `user_id`'s Home tab; a Slack failure is logged, never raised.

        One person's Home is read and published under one lock: without it, a view read before a change
        (opening the tab) could reach Slack after the view read after it (the refresh a click makes), and
        the tab would show a state that is already gone.
        """
        with self._publishing[zlib.crc32(user_id.encode()) % STRIPES]:
            data = self.data(user_id)
            if self.publisher is not None:
                try:
                    self.publisher.publish(data)
                except NotifyFailed as error:
                    log.warning("App Home of %s not published: %s", user_id, error.detail or error.code)
        return data

    def data(self, user_id: str) -> HomeData:
        admins = self.admin_ids()
        with self.transaction() as tx:
            sessions = [SessionItem(s.ref, s.resource_name, s.account_name, s.expires_at, s.role_session_name,
                                    s.continues)
                        for s in tx.sessions.active(user_id, limit=self.shown)]
            sessions_total = tx.sessions.count_active(user_id)
            mine = tx.requests.of_requester(user_id, (RequestStatus.PENDING,), limit=SCAN)
            pending = [_item(r, tx.requests.decisions(r.id)) for r in mine[:self.shown]]
            others = [(r.id, r.account_id) for r in tx.requests.pending(limit=SCAN) if r.requester_id != user_id]
            approvers = {a.id: (tuple(a.approver_ids or ()), a.approver_group) for a in tx.config.account_rows()}
            config = _summary(tx, admins) if user_id in admins else None
        directory = GroupCache(self.directory)
        eligible = [request_id for request_id, account_id in others
                    if user_id in _approvers(approvers.get(account_id or -1, ((), None)), directory, admins)]
        to_approve = self._undecided(user_id, eligible)
        return HomeData(user_id=user_id, sessions=tuple(sessions), sessions_total=sessions_total,
                        pending=tuple(pending), pending_total=len(mine),
                        to_approve=tuple(to_approve[:self.shown]), to_approve_total=len(to_approve), config=config)

    def _undecided(self, user_id: str, request_ids: list[int]) -> list[RequestItem]:
        """The requests still pending on which this approver has not decided yet (oldest first)."""
        items: list[RequestItem] = []
        with self.transaction() as tx:
            for request_id in request_ids:
                request = tx.requests.by_id(request_id)
                decisions = tx.requests.decisions(request_id)
                if request is not None and request.status == RequestStatus.PENDING \
                        and not any(d.approver_id == user_id for d in decisions):
                    items.append(_item(request, decisions))
        return items


def _approvers(config: tuple[tuple[str, ...], str | None], directory: Directory,
               admins: frozenset[str]) -> frozenset[str]:
    """Who may decide; nobody while the group cannot be read (the card itself says so when someone clicks)."""
    try:
        return resolve_approvers(config[0], config[1], directory=directory, admin_ids=lambda: admins)
    except CheckFailed:
        return frozenset()


def _item(request: AccessRequest, decisions: Sequence[Decision]) -> RequestItem:
    approvals = sum(d.verdict == "approve" for d in decisions)
    return RequestItem(request.ref, request.resource_name, request.account_name, request.requester_id,
                       request.duration_seconds, request.reason, request.created_at, approvals,
                       request.approvals_required)


def _summary(tx: Tx, admins: frozenset[str]) -> ConfigSummary:
    resources = tx.config.resources()
    return ConfigSummary(resources=len(resources), accounts=tx.config.account_count(), admins=len(admins),
                         resource_names=tuple(r.name for r in resources[:20]))
