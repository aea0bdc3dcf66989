"""The one error handler: domain errors become messages, anything else a reference id in the log."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.domain.errors import PamError
from bot.http_pool import post
from bot.slack.blocks import text_message
from bot.slack.notifier import slack_call

log = logging.getLogger("bot.slack")


def user_text(error: Exception) -> str:
    """What a person reads: the domain message, or a reference that also appears in the log."""
    if isinstance(error, PamError):
        log.info("refused: %s (%s)", error.code, error.detail or error.user_message)
        return error.user_message
    ref = secrets.token_hex(4)
    if isinstance(error, OperationalError | PoolTimeout):  # the database is restarting, down or overloaded
        cause = error.orig if isinstance(error, OperationalError) else None  # a pool timeout has no driver error
        log.error("database unavailable (ref %s): %s", ref, type(cause or error).__name__)
        return (f"pam-bot lost its database connection, so this did not complete. Try again in a minute "
                f"(ref {ref}).")
    log.error("unexpected error (ref %s): %s", ref, type(error).__name__, exc_info=error)
    return f"Something went wrong (ref {ref}). An admin can find the details in pam-bot's log."


def tell_user(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Reply privately where the person acted: ephemeral in the channel, else a DM."""
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    container = body.get("container") or {}
    if not user_id:
        return
    message = text_message(text)
    if body.get("response_url"):
        reply(body["response_url"], message)
        return
    if channel and container.get("type") != "view":
        try:
            slack_call(lambda: client.chat_postEphemeral(channel=channel, user=user_id, **message))
            return
        except PamError:
            pass  # not in that channel: fall through to a DM
    slack_call(lambda: client.chat_postMessage(channel=user_id, **message))  # the person's DM with the app


def replace_clicked_message(client: WebClient, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Replace the message whose button was clicked; a failure is logged, the click's work stands."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if container.get("type") != "message" or not channel or not ts:
        return
    try:
        slack_call(lambda: client.chat_update(channel=channel, ts=ts, **message))
    except PamError as error:
        log.warning("could not replace the clicked message: %s", error.code)


def reply(response_url: str, message: dict[str, Any]) -> None:
    """Ephemeral answer through the request's response_url (works in any channel, even without the bot), on a
    kept-open connection. Slack's refusal is logged; no answer raises as urllib would (OSError)."""
    body = json.dumps({"response_type": "ephemeral", "replace_original": False, **message}).encode()
    response = post(response_url, body, {"Content-Type": "application/json;charset=utf-8", "User-Agent": "pam-bot"},
                    timeout=10)
    if response.status != 200:
        log.warning("response_url answered %s", response.status)


def handle_error(error: Exception, body: dict[str, Any], client: WebClient) -> None:
    """Bolt's global error handler."""
    text = user_text(error)
    try:
        tell_user(client, body, text)
    except PamError as failure:
        log.warning("could not tell the user about an error: %s", failure.code)
