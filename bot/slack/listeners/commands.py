"""`/pam` slash command: parse, call one service, answer privately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.domain.states import RequestStatus
from bot.services.asking import ReasonRequired
from bot.slack.blocks import Message, catalog_message, help_message, text_message
from bot.slack.context import Services
from bot.slack.errors import reply
from bot.slack.listeners import admin, audit, lifecycle
from bot.slack.messages import granted_ephemeral, submitted_message
from bot.slack.modals import request_modal
from bot.slack.payload import acked_at

Handler = Callable[[Any, dict[str, Any], WebClient, Services], Message | None]


def register(app: App) -> None:
    app.command("/pam")(pam)


def pam(ack: Ack, command: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    parsed = cmd.parse_command(command.get("text") or "")
    handler = HANDLERS.get(type(parsed))
    answer = handler(parsed, command, client, services) if handler else help_message()
    if answer is not None:
        reply(command["response_url"], answer)


def _help(parsed: cmd.Help, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    return help_message()


def _list(parsed: cmd.ListAccounts, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    return catalog_message(services.access.catalog(body["user_id"]))


def _access(parsed: cmd.Access, body: dict[str, Any], client: WebClient, services: Services) -> Message | None:
    try:
        view = services.access.submit(user_id=body["user_id"], resource=parsed.resource, account=parsed.account,
                                      duration=parsed.duration, reason=parsed.reason, start=parsed.start,
                                      acked_at=acked_at(body))
    except ReasonRequired as error:
        client.views_open(trigger_id=body["trigger_id"], view=request_modal(
            services.access.catalog(body["user_id"]), selected=f"{parsed.resource}/{parsed.account}",
            duration=parsed.duration or "", note=error.user_message + " Tell the approvers why you need it."))
        return None
    if view.request.status == RequestStatus.PENDING:
        return submitted_message(view)
    return granted_ephemeral(view)


def _break_glass(parsed: cmd.BreakGlass, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    view = services.access.break_glass(user_id=body["user_id"], resource=parsed.resource, account=parsed.account,
                                       duration=parsed.duration, reason=parsed.reason, acked_at=acked_at(body))
    if view.request.status == RequestStatus.GRANTED:
        return text_message(f"🚨 Break-glass {view.request.ref}: check your DMs for the console link. The approvers "
                            "and admins have been told, and one of them will review it.")
    return granted_ephemeral(view)


def _cancel(parsed: cmd.Cancel, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    view = services.access.cancel(user_id=body["user_id"], ref=parsed.request_ref)
    return text_message(f"Request {view.request.ref} is cancelled.")


# The one dispatch table of `/pam`: each parsed command type (bot/domain/command.py) and its handler.
HANDLERS: dict[type[cmd.Command], Handler] = {
    cmd.Help: _help,
    cmd.ListAccounts: _list,
    cmd.Access: _access,
    cmd.BreakGlass: _break_glass,
    cmd.Cancel: _cancel,
    cmd.Sessions: lifecycle.sessions_command,
    cmd.Revoke: lifecycle.revoke_command,
    cmd.Admin: admin.admin_command,
    cmd.Setup: admin.setup_command,
    cmd.Audit: audit.audit_command,
}
