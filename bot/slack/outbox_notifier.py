"""The Notifier port over the outbox: notices are rendered now and queued; workers deliver them with retries.

The first approval cards too, in the transaction that makes the request (the outbox's refusal of one cancels it).
One thing stays direct: the console link (a bearer secret, never stored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.eligibility import CheckFailed
from bot.domain.errors import NotifyFailed
from bot.domain.states import RequestStatus
from bot.services.approvers import resolve_approvers
from bot.services.first_cards import card_key
from bot.services.outbox import Outbox
from bot.services.ports import RequestView
from bot.slack import messages
from bot.slack.blocks import Message, request_card
from bot.slack.break_glass_blocks import break_glass_alert, break_glass_card, break_glass_flagged, \
    break_glass_reminder
from bot.slack.lifecycle_blocks import link_closed_message
from bot.slack.notifier import SlackDirectory, SlackNotifier

MAX_CARD_DMS = 20  # approvers who get the card by DM when the account has no approval channel


class OutboxNotifier:
    """Queues every message; `direct` sends the link."""

    def __init__(self, outbox: Outbox, direct: SlackNotifier, *, directory: SlackDirectory,
                 default_channel: str | None, admin_ids: Callable[[], frozenset[str]],
                 admin_channel: str | None = None) -> None:
        self.outbox, self.direct, self.directory = outbox, direct, directory
        self.default_channel, self.admin_ids, self.admin_channel = default_channel, admin_ids, admin_channel

    def queue_request_cards(self, view: RequestView) -> None:
        card, request = dict(card_of(view)), view.request
        channel = view.channel or self.default_channel
        if channel:
            self.outbox.queue("post", channel, card, dedupe_key=card_key(request.ref), request_id=request.id)
            return
        approvers = resolve_approvers(view.approver_ids, view.approver_group, directory=self.directory,
                                      admin_ids=self.admin_ids)  # a group that cannot be read refuses
        people = sorted(approvers - {request.requester_id})[:MAX_CARD_DMS]
        if not people:
            raise NotifyFailed("Nobody can approve this account yet: it has no approvers, no approval channel "
                               "and pam-bot has no admins. Ask an admin to fix the account.", code="no_approvers")
        for user_id in people:
            self.outbox.queue("dm", user_id, card, dedupe_key=card_key(request.ref), request_id=request.id)

    def send_console_link(self, view: RequestView, link: str) -> dict[str, str]:
        return self.direct.send_console_link(view, link)

    def find_console_link(self, view: RequestView) -> dict[str, str] | None:
        return self.direct.find_console_link(view)

    def update_request_cards(self, view: RequestView, *, after: float = 0.0) -> None:
        card, request = dict(card_of(view)), view.request
        if not request.auto_approved:  # one row for all its cards, found when it is sent (after their posts)
            self.outbox.queue("update", "", card, dedupe_key=card_key(request.ref), request_id=request.id,
                              delay=after)
        elif not request.cards and request.status == RequestStatus.GRANTED:
            channel = view.channel or self.default_channel  # announced (without the link) where a card would go
            if channel:
                self.outbox.queue("post", channel, card)

    def offer_new_link(self, view: RequestView) -> None:
        self._dm(view.request.requester_id, messages.new_link_offer(view))

    def close_link_message(self, view: RequestView, channel: str, ts: str) -> None:
        self.outbox.queue("update", channel, dict(link_closed_message(view)), ts=ts, dedupe_key=f"msg:{channel}:{ts}")

    def tell_admins(self, view: RequestView, event: str) -> None:
        message = dict(messages.admins_notice(view, event))
        if self.admin_channel:
            self.outbox.queue("post", self.admin_channel, message)
            return
        for user_id in sorted(self.admin_ids()):
            self.outbox.queue("dm", user_id, message)

    def tell_requester(self, view: RequestView, event: str) -> None:
        notice = break_glass_flagged(view) if event == "break_glass_flagged" else messages.requester_notice(view, event)
        self._dm(view.request.requester_id, notice)

    def alert_break_glass(self, view: RequestView) -> None:
        try:
            approvers = resolve_approvers(view.approver_ids, view.approver_group, directory=self.directory,
                                          admin_ids=self.admin_ids)
        except CheckFailed:
            approvers = frozenset(view.approver_ids)
        for user_id in sorted((approvers | self.admin_ids()) - {view.request.requester_id})[:50]:
            self._dm(user_id, break_glass_alert(view))

    def remind_break_glass(self, view: RequestView) -> None:
        self._in_threads(view, break_glass_reminder(view))

    def remind_approvers(self, view: RequestView, *, final: bool = False) -> None:
        escalate = view.escalate_to if final else None
        self._in_threads(view, messages.reminder_message(view, escalate))
        if escalate and escalate[0] in "CG":
            self.outbox.queue("post", escalate, dict(messages.escalation_message(view)))

    def tell_approvers(self, view: RequestView, event: str) -> None:
        self._in_threads(view, messages.approvers_notice(view, event))

    def warn_expiry(self, view: RequestView) -> None:
        self._dm(view.request.requester_id, messages.expiry_warning_message(view))

    def announce_end(self, view: RequestView) -> None:
        self._dm(view.request.requester_id, messages.session_ended_message(view))
        self.update_request_cards(view)

    def _in_threads(self, view: RequestView, message: Any) -> None:
        for ref in view.request.cards or ():
            self.outbox.queue("post", ref["channel"], dict(message), ts=ref["ts"])

    def _dm(self, user_id: str, message: Any) -> None:
        self.outbox.queue("dm", user_id, dict(message))


def card_of(view: RequestView) -> Message:
    """The card a request shows where approval cards go: a break-glass one, or the approval card."""
    return break_glass_card(view) if view.request.break_glass else request_card(view)
