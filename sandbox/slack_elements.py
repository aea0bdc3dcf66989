"""Block Kit composition objects and interactive elements, checked against Slack's published limits."""

from __future__ import annotations

from typing import Any

ID_MAX = 255
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTIONS_MAX = 100
PLACEHOLDER_MAX = 150
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000

_TEXT_TYPES = {"plain_text", "mrkdwn"}
_SELECTS = {
    "static_select", "multi_static_select", "users_select", "multi_users_select", "conversations_select",
    "multi_conversations_select", "channels_select", "multi_channels_select", "external_select",
    "multi_external_select",
}
_INPUTS = {
    "plain_text_input", "datepicker", "timepicker", "datetimepicker", "number_input", "email_text_input",
    "url_text_input", "rich_text_input", "file_input",
}
_CHOICES = {"checkboxes": 10, "radio_buttons": 10, "overflow": 5}
ELEMENT_TYPES = _SELECTS | _INPUTS | set(_CHOICES) | {"button", "image", "workflow_button"}


class InvalidBlocks(ValueError):
    """A payload Slack would refuse; `reason` reads like Slack's `[ERROR] ... [json-pointer:...]` messages."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{message} [json-pointer:{pointer}]")
        self.pointer = pointer
        self.reason = str(self)


def check_length(value: Any, limit: int, pointer: str) -> None:
    if not isinstance(value, str):
        raise InvalidBlocks(pointer, "must be a string")
    if len(value) > limit:
        raise InvalidBlocks(pointer, f"must be at most {limit} characters (got {len(value)})")


def check_text(obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> None:
    """A text composition object: plain_text or mrkdwn, non-empty string, within `limit`."""
    if not isinstance(obj, dict):
        raise InvalidBlocks(pointer, "must be a text object")
    allowed = {"plain_text"} if plain_only else _TEXT_TYPES
    if obj.get("type") not in allowed:
        raise InvalidBlocks(f"{pointer}/type", f"must be one of {sorted(allowed)} (got {obj.get('type')!r})")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise InvalidBlocks(f"{pointer}/text", "must be a non-empty string")
    check_length(text, limit, f"{pointer}/text")


def check_id(obj: dict[str, Any], key: str, pointer: str) -> None:
    if key in obj:
        check_length(obj[key], ID_MAX, f"{pointer}/{key}")
        if not obj[key]:
            raise InvalidBlocks(f"{pointer}/{key}", "must not be empty")


def check_element(element: Any, pointer: str) -> None:
    """One interactive (or image) element."""
    if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
        kind = element.get("type") if isinstance(element, dict) else type(element).__name__
        raise InvalidBlocks(f"{pointer}/type", f"unknown element type {kind!r}")
    check_id(element, "action_id", pointer)
    kind = element["type"]
    if kind == "button":
        _check_button(element, pointer)
    elif kind == "image":
        _require(element, "alt_text", pointer)
    elif kind in _CHOICES:
        _check_options(element, pointer, most=_CHOICES[kind], plain_only=kind == "overflow")
    if "placeholder" in element:
        check_text(element["placeholder"], f"{pointer}/placeholder", limit=PLACEHOLDER_MAX, plain_only=True)
    if kind in ("static_select", "multi_static_select"):
        _check_options(element, pointer, most=OPTIONS_MAX, plain_only=True)


def _check_button(button: dict[str, Any], pointer: str) -> None:
    _require(button, "text", pointer)
    check_text(button["text"], f"{pointer}/text", limit=BUTTON_TEXT_MAX, plain_only=True)
    if "value" in button:
        check_length(button["value"], BUTTON_VALUE_MAX, f"{pointer}/value")
    if "url" in button:
        check_length(button["url"], URL_MAX, f"{pointer}/url")
    if button.get("style") not in (None, "primary", "danger"):
        raise InvalidBlocks(f"{pointer}/style", "must be 'primary' or 'danger'")


def _check_options(element: dict[str, Any], pointer: str, *, most: int, plain_only: bool) -> None:
    if "option_groups" in element:
        for g, group in enumerate(element["option_groups"]):
            _check_option_list(group.get("options"), f"{pointer}/option_groups/{g}/options", most, plain_only)
        return
    if element["type"] not in ("external_select", "multi_external_select"):
        _check_option_list(element.get("options"), f"{pointer}/options", most, plain_only)


def _check_option_list(options: Any, pointer: str, most: int, plain_only: bool) -> None:
    if not isinstance(options, list) or not options:
        raise InvalidBlocks(pointer, "must be a non-empty list of options")
    if len(options) > most:
        raise InvalidBlocks(pointer, f"must have at most {most} options (got {len(options)})")
    for i, option in enumerate(options):
        check_text(option.get("text"), f"{pointer}/{i}/text", limit=OPTION_TEXT_MAX, plain_only=plain_only)
        check_length(option.get("value"), OPTION_VALUE_MAX, f"{pointer}/{i}/value")


def _require(obj: dict[str, Any], key: str, pointer: str) -> None:
    if key not in obj:
        raise InvalidBlocks(f"{pointer}/{key}", "is required")
