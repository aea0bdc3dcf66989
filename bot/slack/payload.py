"""Reading primitives out of Slack payloads (view state, metadata) without trusting them."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from bot.domain.errors import InvalidInput
from bot.domain.text import storable
from bot.services.ports import Person
from bot.slack.ids import VALUE

REPLAYED = "pam_replayed"  # added to a recorded body handled again because its first worker died
CHECKED_ASKER = "pam_checked_asker"  # added to a recorded request form: the requester the web path's check found


def with_asker(body: dict[str, Any], person: Person) -> dict[str, Any]:
    """The body to record, carrying the requester the web path looked up, so the worker need not ask Slack again."""
    return {**body, CHECKED_ASKER: asdict(person)}


def checked_asker(body: dict[str, Any]) -> Person | None:
    """The requester the web path recorded with the form; None when it recorded none (or in another shape)."""
    found = body.get(CHECKED_ASKER)
    if not isinstance(found, dict) or set(found) != {f.name for f in fields(Person)}:
        return None
    return Person(**found)
ACKED_AT = "pam_acked_at"  # added with it: when the web path recorded that body (ISO 8601)


def acked_at(body: dict[str, Any]) -> datetime | None:
    """When a replayed body was first recorded; None for a body handled the first time."""
    raw = body.get(ACKED_AT) if body.get(REPLAYED) else None
    return datetime.fromisoformat(str(raw)) if raw else None


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten `view.state.values` to {block_id: value} for the element types the bot uses."""
    values: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        element = (actions or {}).get(VALUE) or {}
        values[block_id] = _element_value(element)
    return values


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select"):
        return ((element.get("selected_option") or {}).get("value")) or ""
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind in ("conversations_select", "channels_select"):
        return element.get("selected_conversation") or element.get("selected_channel") or ""
    if kind == "checkboxes":
        return [option.get("value") for option in element.get("selected_options") or []]
    return storable(element.get("value") or "").strip()


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """private_metadata as a dict; anything else is refused (it comes back from the client)."""
    raw = view.get("private_metadata") or "{}"
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise InvalidInput("This form is damaged; please open it again.", code="bad_metadata") from error
    if not isinstance(data, dict):
        raise InvalidInput("This form is damaged; please open it again.", code="bad_metadata")
    return data


def user_id(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or body.get("user_id") or "")


def action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")
