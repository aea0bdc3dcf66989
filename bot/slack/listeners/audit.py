"""`/pam audit [filters]` and its "More" button (admins only)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.slack.audit_blocks import audit_message, read_more_value
from bot.slack.blocks import Message
from bot.slack.context import Services
from bot.slack.errors import reply
from bot.slack.ids import Action
from bot.slack.payload import action_value, user_id


def register(app: App) -> None:
    app.action(Action.AUDIT_MORE.value)(more)


def audit_command(parsed: cmd.Audit, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    return audit_message(services.audit.page(actor=body["user_id"], filters=parsed.filters, page=parsed.page))


def more(ack: Ack, body: dict[str, Any], services: Services) -> None:
    ack()
    filters, before_id, page = read_more_value(action_value(body))
    result = services.audit.page(actor=user_id(body), filters=filters, page=page, before_id=before_id)
    reply(body["response_url"], audit_message(result))
