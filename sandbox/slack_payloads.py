"""Request bodies shaped like Slack's (slash commands, block_actions, view_submission, events) and element states."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

VERIFICATION_TOKEN = "sandbox-verification-token"  # legacy field Slack still sends; Bolt ignores it


def plain_text_value(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    option = None if value is None else {"text": _plain(text or value), "value": value}
    return {"type": "static_select", "selected_option": option}


def users_select(ids: str | list[str] | None) -> dict[str, Any]:
    """A single `users_select` for one id (or None), a `multi_users_select` for a list."""
    if isinstance(ids, list):
        return {"type": "multi_users_select", "selected_users": list(ids)}
    return {"type": "users_select", "selected_user": ids}


def conversations_select(conversation_id: str | None) -> dict[str, Any]:
    return {"type": "conversations_select", "selected_conversation": conversation_id}


def checkboxes(values: list[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [{"text": _plain(v), "value": v} for v in values]}


def radio_buttons(value: str | None) -> dict[str, Any]:
    option = None if value is None else {"text": _plain(value), "value": value}
    return {"type": "radio_buttons", "selected_option": option}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def user_object(user_id: str, name: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def team_object(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": "pam-sandbox"}


def slash_command(*, user: dict[str, Any], command: str, text: str, channel_id: str, team_id: str,
                  api_app_id: str, response_url: str, trigger_id: str) -> dict[str, str]:
    """Form fields of a slash command, in the order Slack sends them."""
    return {
        "token": VERIFICATION_TOKEN, "team_id": team_id, "team_domain": "pam-sandbox", "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else channel_id.lower(),
        "user_id": user["id"], "user_name": user["name"], "command": command, "text": text,
        "api_app_id": api_app_id, "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger_id,
    }


def as_slack_sends(typed: str, *, people: Mapping[str, str] | None = None, escape: bool = True) -> str:
    """Slash-command text as Slack sends what someone typed.

    With the manifest's `should_escape: true`, `&`, `<` and `>` arrive as `&amp;`, `&lt;`, `&gt;`, and each
    `@name` picked from Slack's list (`people` maps name → user id) arrives as `<@U…|name>`. Without it
    (`escape=False`), the text arrives exactly as typed, `@name` included.
    """
    if not escape:
        return typed
    text = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for name, user_id in (people or {}).items():
        text = re.sub(rf"@{re.escape(name)}\b", f"<@{user_id}|{name}>", text)
    return text


def button_action(action_id: str, value: str, block_id: str, element: dict[str, Any] | None,
                  now: float) -> dict[str, Any]:
    """The `actions[0]` entry of a button click; text and style come from the clicked element when known."""
    action = {"action_id": action_id, "block_id": block_id, "text": _plain(action_id), "value": value,
              "type": "button", "action_ts": f"{now:.6f}"}
    for key in ("text", "style"):
        if element and key in element:
            action[key] = element[key]
    return action


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the element with `action_id` in section accessories or actions blocks."""
    for block in blocks:
        candidates = [block.get("accessory")] + list(block.get("elements") or [])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def modal_view(view_id: str, *, callback_id: str, team_id: str, api_app_id: str) -> dict[str, Any]:
    """A minimal modal as Slack echoes it, for submissions of views the stand-in never saw."""
    return {
        "id": view_id, "team_id": team_id, "type": "modal", "blocks": [], "private_metadata": "",
        "callback_id": callback_id, "state": {"values": {}}, "hash": f"1.{secrets.token_hex(4)}",
        "title": _plain("pam"), "clear_on_close": False, "notify_on_close": False, "close": None,
        "submit": _plain("Submit"), "previous_view_id": None, "root_view_id": view_id, "app_id": api_app_id,
        "external_id": "", "app_installed_team_id": team_id, "bot_id": "B0PAMBOT",
    }


def app_home_opened(*, user_id: str, team_id: str, api_app_id: str, bot_user_id: str,
                    view: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """An Events API `event_callback` envelope carrying `app_home_opened` for the Home tab."""
    event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home",
                             "event_ts": f"{now:.6f}"}
    if view is not None:
        event["view"] = view
    return {
        "token": VERIFICATION_TOKEN, "team_id": team_id, "api_app_id": api_app_id, "event": event,
        "type": "event_callback", "event_id": f"Ev{secrets.token_hex(5).upper()}", "event_time": int(now),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }
