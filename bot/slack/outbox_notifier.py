"""The Notifier port over the outbox: notices are rendered now and queued; workers deliver them with retries.

Two things stay direct: the approval card's first post (the request's fate hangs on it, and the person
asking hears at once when it cannot be posted) and the console link (a bearer secret, never stored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.eligibility import CheckFailed
from bot.domain.states import RequestStatus
from bot.services.approvers import resolve_approvers
from bot.services.outbox import Outbox
from bot.services.ports import RequestView
from bot.slack import messages
from bot.slack.break_glass_blocks import break_glass_alert, break_glass_flagged, break_glass_reminder
from bot.slack.lifecycle_blocks import link_closed_message
from bot.slack.notifier import SlackDirectory, SlackNotifier, card_of


class OutboxNotifier:
    """Queues every message; `direct` sends the card's first post and the link."""

    def __init__(self, outbox: Outbox, direct: SlackNotifier, *, directory: SlackDirectory,
                 default_channel: str | None, admin_ids: Callable[[], frozenset[str]],
                 admin_channel: str | None = None) -> None:
        self.outbox, self.direct, self.directory = outbox, direct, directory
        self.default_channel, self.admin_ids, self.admin_channel = default_channel, admin_ids, admin_channel

    def post_request_cards(self, view: RequestView) -> list[dict[str, str]]:
        return self.direct.post_request_cards(view)

    def send_console_link(self, view: RequestView, link: str) -> dict[str, str]:
        return self.direct.send_console_link(view, link)

    def find_console_link(self, view: RequestView) -> dict[str, str] | None:
        return self.direct.find_console_link(view)

    def update_request_cards(self, view: RequestView) -> None:
        card = dict(card_of(view))
        for ref in view.request.cards or ():
            self.outbox.queue("update", ref["channel"], card, ts=ref["ts"],
                              dedupe_key=f"card:{ref['channel']}:{ref['ts']}")
        if not view.request.cards and view.request.auto_approved and view.request.status == RequestStatus.GRANTED:
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
