"""Break-glass: access at once without approval where an account allows it — loud, limited, and reviewed after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.eligibility import CheckFailed
from bot.domain.errors import Conflict, NotAllowed, NotFound
from bot.domain.policy import ensure_can_decide
from bot.domain.states import RequestStatus, SessionStatus
from bot.domain.text import plural, quote
from bot.services.approvers import resolve_approvers
from bot.services.base import Clock, Tx, UseCase
from bot.services.lookups import actor_of
from bot.services.ports import Directory, Notifier, RequestView
from bot.services.views import load_view

log = logging.getLogger(__name__)
BREAK_GLASS_DAILY_LIMIT = 2  # per person, over every account, in any 24 hours
REMIND_EVERY = timedelta(minutes=30)  # an unreviewed break-glass is brought up again in its card's thread


def ensure_break_glass(tx: Tx, user_id: str, resource: str, account: str, *, limit: int) -> str | None:
    """NotAllowed unless the account allows break-glass and the person is under the daily limit. A pending
    request of theirs for the account is cancelled (the emergency supersedes it); its ref is returned."""
    found = tx.config.account(resource.lower(), account.lower())
    if found is None:
        return None  # the caller's lookup says which accounts exist
    res, acc = found
    if not acc.break_glass:
        raise NotAllowed(f"`{res.name}/{acc.name}` has no break-glass. Ask with `/pam access {res.name} {acc.name}`, "
                         "or ask a pam-bot admin to allow break-glass on it.", code="break_glass_off")
    used = tx.requests.break_glass_since(user_id, tx.now - timedelta(days=1))
    if used >= limit:
        raise NotAllowed(f"You have used break-glass {plural(used, 'time')} in the last 24 hours, the most allowed. "
                         f"Ask with `/pam access {res.name} {acc.name}` and call an approver.",
                         code="break_glass_limit")
    pending = tx.requests.open_for(user_id, acc.id)
    if pending is None or pending.status != RequestStatus.PENDING:
        return None
    tx.requests.transition(pending.id, RequestStatus.PENDING, RequestStatus.CANCELLED, updated_at=tx.now,
                           failure_code="superseded", failure_message="replaced by a break-glass grant")
    return pending.ref


class BreakGlassService(UseCase):
    """The review every break-glass grant is owed: Reviewed, or Flag (which revokes the session at once)."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, directory: Directory, notifier: Notifier,
                 revoke: Callable[[str, str], object], admin_ids: Callable[[], frozenset[str]]) -> None:
        super().__init__(db=db, clock=clock)
        self.directory = directory
        self.notifier = notifier
        self.revoke = revoke  # (actor, session ref): ends the session, in AWS too where it can
        self.admin_ids = admin_ids

    def review(self, *, user_id: str, ref: str, flag: bool) -> RequestView:
        """Record an approver's (or admin's) review; the requester never reviews their own."""
        action = "request.break_glass_flag" if flag else "request.break_glass_review"
        with self.audited(user_id, action, ref):
            person = self.directory.person(user_id)
            view = self._view(ref)
            ensure_can_decide(actor_of(person), requester_id=view.request.requester_id,
                              eligible=self._may_review(user_id, view), already_decided=False,
                              resource=view.request.resource_name, account=view.request.account_name)
            with self.transaction() as tx:
                if not tx.requests.mark_reviewed(view.request.id, "flagged" if flag else "reviewed", user_id,
                                                 tx.now):
                    raise Conflict(f"Break-glass {ref} was already reviewed.")
                session = tx.sessions.by_request(view.request.id)
                tx.audit(user_id, action, ref, break_glass=True, session=session.ref if session else None)
        if flag and view.session is not None and view.session.status == SessionStatus.ACTIVE:
            self.revoke(user_id, view.session.ref)
        view = self._view(ref)
        self.notifier.update_request_cards(view)  # queued in the outbox
        if flag:
            self.notifier.tell_requester(view, "break_glass_flagged")
        return view

    def _view(self, ref: str) -> RequestView:
        with self.transaction() as tx:
            request = tx.requests.by_ref(ref)
            if request is None or not request.break_glass:
                raise NotFound(f"There is no break-glass {quote(ref)}.")
            return load_view(tx, request)

    def _may_review(self, user_id: str, view: RequestView) -> bool:
        if user_id in self.admin_ids():
            return True
        try:
            return user_id in resolve_approvers(view.approver_ids, view.approver_group, directory=self.directory,
                                                admin_ids=self.admin_ids)
        except CheckFailed:
            return False  # an unreadable group admits nobody; the admins can still review
