"""`/pam sessions`, `/pam revoke` and the "I'm done" button."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.domain.ids import normalise_ref
from bot.slack.blocks import Message, text_message
from bot.slack.context import Services
from bot.slack.errors import replace_clicked_message, tell_user
from bot.slack.ids import Action
from bot.slack.lifecycle_blocks import link_closed_message, revoked_text, sessions_message
from bot.slack.payload import action_value, user_id

LIST_FETCH = 200  # enough to count what the list does not show


def register(app: App) -> None:
    app.action(Action.DONE.value)(done)


def sessions_command(parsed: cmd.Sessions, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    actor = body["user_id"]
    rows = services.sessions.active(actor=actor, all_users=parsed.all_users, user=parsed.user, limit=LIST_FETCH)
    whose = parsed.user if parsed.user and parsed.user != actor else None
    return sessions_message(rows, everyone=parsed.all_users, whose=whose)


def revoke_command(parsed: cmd.Revoke, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    view, outcome = services.sessions.revoke(actor=body["user_id"], ref=parsed.session_ref)
    return text_message(revoked_text(view, outcome))


def done(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    view, outcome = services.sessions.revoke(actor=user_id(body), ref=normalise_ref(action_value(body), "S"))
    tell_user(client, body, revoked_text(view, outcome))
    if view.session is not None and not view.session.link_ts:  # granted before pam-bot kept the DM's place
        replace_clicked_message(client, body, link_closed_message(view))  # the DM loses its link and buttons
