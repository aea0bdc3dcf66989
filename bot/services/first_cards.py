"""A request's approval cards in the outbox: the key their rows share, and what Slack refusing a first post does."""

from __future__ import annotations

from bot.domain.states import RequestStatus
from bot.services.base import Tx
from bot.services.notices import CARDS_CLOSED, notice_row
from storage.repositories.deliveries import DeliveryRepository

CARD_POSTS = ("post", "dm")  # the kinds of a card's first post; its updates are `update` rows with the same key


def card_key(ref: str) -> str:
    """Shared by a request's first card posts and every later update of its cards: rows of one key go out in
    order, so an update queued before a card landed waits for it (and finds the card's place when it is sent)."""
    return f"card:{ref}"


def card_refused(tx: Tx, request_id: int, code: str, hint: str) -> None:
    """Slack refused a first card for good: a request still pending is cancelled (nobody could approve it), its
    other unsent cards dropped, the ones that landed closed (their update is rendered by a worker) and its
    requester told why; a break-glass card's refusal is only audited."""
    request = tx.requests.by_id(request_id)
    if request is None:
        return
    reason = f"Slack refused the message: {hint}."
    cancelled = tx.requests.transition(request_id, RequestStatus.PENDING, RequestStatus.CANCELLED,
                                       updated_at=tx.now, failure_code=code, failure_message=reason)
    tx.audit("pam-bot", "request.card", request.ref, "failed", code=code, detail=code,
             **({"break_glass": True} if request.break_glass else {}))
    if not cancelled:
        return
    outbox = DeliveryRepository(tx.session)
    outbox.drop_posts(card_key(request.ref), tx.now, "request_cancelled")
    # Cards that did land (by DM to other approvers) must stop offering Approve: a worker renders their update.
    outbox.buffer(notice_row(CARDS_CLOSED, [(request_id, request_id)]))
    outbox.buffer({"kind": "dm", "channel": request.requester_id, "payload": {
        "text": f"🚫 Request {request.ref} for `{request.resource_name}/{request.account_name}` is cancelled: its "
                f"approval card could not be posted. {reason}"}})
