"""Modal submissions of the request and deny forms."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.errors import InvalidInput
from bot.domain.ids import normalise_ref
from bot.domain.states import RequestStatus
from bot.slack.context import Services
from bot.slack.errors import tell_user
from bot.slack.ids import Block, View, other_than
from bot.slack.messages import granted_ephemeral, submitted_message
from bot.slack.payload import acked_at, checked_asker, metadata, user_id, view_values


def register(app: App) -> None:
    """Worker: the request and deny forms."""
    app.view(View.REQUEST.value)(request_submitted)
    app.view(View.DENY.value)(deny_submitted)


def register_fallback(app: App) -> None:
    """Any other modal is acknowledged and audited; nothing is done with it."""
    app.view(other_than(View))(unknown)


def request_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                      services: Services) -> None:
    values = view_values(view)
    resource, _, account = str(values.get(Block.ACCOUNT.value, "")).partition("/")
    duration = values.get(Block.DURATION.value) or None
    reason = values.get(Block.REASON.value, "")
    start = values.get(Block.START.value) or None
    ack()  # the web path checked the form in its ack; what changed since is refused by submit and said
    if "break_glass" in (values.get(Block.URGENCY.value) or ()):
        glass_submitted(services, body, client, resource, account, duration, reason)
        return
    result = services.access.submit(user_id=user_id(body), resource=resource, account=account,
                                    duration=duration, reason=reason, start=start, person=checked_asker(body),
                                    acked_at=acked_at(body))
    message = submitted_message(result) if result.request.status == RequestStatus.PENDING else granted_ephemeral(result)
    tell_user(client, {"user": body.get("user")}, message["text"])
    services.home.publish(user_id(body))


def deny_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    ref = normalise_ref(str(metadata(view).get("ref", "")), "R")
    ack()
    services.access.decide(user_id=user_id(body), ref=ref, approve=False,
                           reason=str(view_values(view).get(Block.REASON.value, "")))
    services.home.publish(user_id(body))


def unknown(ack: Ack, body: dict[str, Any], services: Services) -> None:
    ack()
    callback = str((body.get("view") or {}).get("callback_id", ""))[:64]
    services.access.record(user_id(body) or "unknown", "slack.unknown_view", callback, "refused")
    raise InvalidInput("That form is not one pam-bot knows.", code="unknown_view")


def glass_submitted(services: Services, body: dict[str, Any], client: WebClient, resource: str, account: str,
                    duration: str | None, reason: str) -> None:
    """The request modal with Break-glass ticked (the web path made sure of a reason): the command's grant."""
    view = services.access.break_glass(user_id=user_id(body), resource=resource, account=account,
                                       duration=duration, reason=reason, acked_at=acked_at(body))
    tell_user(client, {"user": body.get("user")}, f"🚨 Break-glass {view.request.ref} is {view.request.status}.")
