"""`/pam` slash command: parse, call one service, answer privately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.services.asking import ReasonRequired
from bot.slack.blocks import Message, catalog_message, help_message, text_message
from bot.slack.context import Services
from bot.slack.messages import granted_ephemeral, submitted_message
from bot.slack.modals import request_modal
from bot.slack.payload import acked_at

Handler = Callable[[Any, dict[str, Any], WebClient, Services], Message | None]
HANDLERS: dict[type, Handler] = {}


def handles(kind: type) -> Callable[[Handler], Handler]:
    """Register the handler of one parsed command type (lifecycle and admin modules add theirs)."""
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler
    return register


def register(app: App, services: Services) -> None:
    @app.command("/pam")
    def pam(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        parsed = cmd.parse_command(command.get("text") or "")
        handler = HANDLERS.get(type(parsed))
        answer = handler(parsed, command, client, services) if handler else help_message()
        if answer is not None:
            respond(response_type="ephemeral", **answer)


@handles(cmd.Help)
def _help(parsed: cmd.Help, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    return help_message()


@handles(cmd.ListAccounts)
def _list(parsed: cmd.ListAccounts, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    return catalog_message(services.access.catalog(body["user_id"]))


@handles(cmd.Access)
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
    if view.request.status == "pending":
        return submitted_message(view)
    return granted_ephemeral(view)


@handles(cmd.BreakGlass)
def _break_glass(parsed: cmd.BreakGlass, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    view = services.access.break_glass(user_id=body["user_id"], resource=parsed.resource, account=parsed.account,
                                       duration=parsed.duration, reason=parsed.reason, acked_at=acked_at(body))
    if view.request.status == "granted":
        return text_message(f"🚨 Break-glass {view.request.ref}: check your DMs for the console link. The approvers "
                            "and admins have been told, and one of them will review it.")
    return granted_ephemeral(view)


@handles(cmd.Cancel)
def _cancel(parsed: cmd.Cancel, body: dict[str, Any], client: WebClient, services: Services) -> Message:
    view = services.access.cancel(user_id=body["user_id"], ref=parsed.request_ref)
    return text_message(f"Request {view.request.ref} is cancelled.")
