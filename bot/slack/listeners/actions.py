"""Button clicks on cards, DMs and App Home."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain.ids import normalise_ref
from bot.domain.states import RequestStatus
from bot.slack.context import Services
from bot.slack.errors import tell_user
from bot.slack.ids import Action, other_than
from bot.slack.modals import deny_modal, request_modal
from bot.slack.payload import REPLAYED, acked_at, action_value, user_id


def register(app: App) -> None:
    """Worker: the clicks that call a service."""
    app.action(Action.APPROVE.value)(approve)
    app.action(Action.BREAK_GLASS_REVIEWED.value)(review_break_glass)
    app.action(Action.BREAK_GLASS_FLAG.value)(review_break_glass)
    app.action(Action.EXTEND.value)(extend)
    app.action(Action.NEW_LINK.value)(new_link)
    app.action(Action.CANCEL.value)(cancel)


def front_clicks() -> dict[Action, Callable[..., None]]:
    """Web path: clicks that open a modal (while the trigger lives) or need nothing at all."""
    return {Action.DENY: deny, Action.OPEN_CONSOLE: open_console, Action.REQUEST_AGAIN: open_request,
            Action.OPEN_REQUEST: open_request}


def register_front(app: App) -> None:
    for action, listener in front_clicks().items():
        app.action(action.value)(listener)


def register_fallback(app: App) -> None:
    """Last listener: any other click is acknowledged, refused and audited (never a 404 or 500)."""
    app.action(other_than(Action))(unknown)


def approve(ack: Ack, body: dict[str, Any], services: Services) -> None:
    ack()
    services.access.decide(user_id=user_id(body), ref=normalise_ref(action_value(body), "R"), approve=True,
                           replay=bool(body.get(REPLAYED)))
    refresh_home(services, body)


def review_break_glass(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flag = (body.get("actions") or [{}])[0].get("action_id") == Action.BREAK_GLASS_FLAG.value
    view = services.break_glass.review(user_id=user_id(body), ref=normalise_ref(action_value(body), "R"), flag=flag)
    tell_user(client, body, f"Break-glass {view.request.ref} is "
                            + ("flagged and its session revoked." if flag else "marked as reviewed."))


def extend(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    view = services.access.extend(user_id=user_id(body), session_ref=normalise_ref(action_value(body), "S"),
                                  acked_at=acked_at(body))
    if view.request.status == RequestStatus.PENDING:
        tell_user(client, body, f"Extension {view.request.ref} of {view.request.extends} is waiting for approval; "
                                "the new link comes by DM once it is approved.")
    elif view.request.status == RequestStatus.GRANTED:
        tell_user(client, body, f"Extended: {view.request.extends} continues as a new session; the new link is "
                                "in your DMs.")
    else:
        tell_user(client, body, f"Extension {view.request.ref} is {view.request.status}.")


def new_link(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    view = services.grants.relink(user_id=user_id(body), session_ref=normalise_ref(action_value(body), "S"))
    assert view.session is not None
    tell_user(client, body, f"A new sign-in link for {view.session.ref} is in your DMs.")


def cancel(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    view = services.access.cancel(user_id=user_id(body), ref=normalise_ref(action_value(body), "R"))
    tell_user(client, body, f"Request {view.request.ref} is cancelled.")
    refresh_home(services, body)


def deny(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=deny_modal(normalise_ref(action_value(body), "R")))


def open_console(ack: Ack) -> None:
    ack()  # the button is a link; Slack still sends the click


def open_request(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    selected = action_value(body).replace(" ", "/") or None
    client.views_open(trigger_id=body["trigger_id"],
                      view=request_modal(services.access.catalog(user_id(body)), selected=selected))


def unknown(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    action = str((body.get("actions") or [{}])[0].get("action_id", ""))[:64]
    services.access.record(user_id(body) or "unknown", "slack.unknown_action", action, "refused")
    tell_user(client, body, "That button is not one pam-bot knows (it may be from an older version).")


def refresh_home(services: Services, body: dict[str, Any]) -> None:
    """A click on the Home tab re-renders it, so what was just decided or cancelled leaves the list."""
    if (body.get("view") or {}).get("type") == "home":
        services.home.publish(user_id(body))
