"""Block Kit layout blocks and surfaces (messages, modals, Home tabs), checked against Slack's limits."""

from __future__ import annotations

from typing import Any

from sandbox.slack_elements import (
    InvalidBlocks,
    check_element,
    check_id,
    check_length,
    check_text,
)

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELD_MAX = 2000
SECTION_FIELDS_MAX = 10
HEADER_TEXT_MAX = 150
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
LABEL_MAX = 2000
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
_FREE_FORM = {"divider", "image", "rich_text", "video", "file", "markdown"}

__all__ = ["InvalidBlocks", "check_message_blocks", "check_view"]


def check_message_blocks(blocks: Any, pointer: str = "/blocks") -> None:
    """Blocks of a message (chat.postMessage, chat.update, chat.postEphemeral, response_url)."""
    _check_blocks(blocks, pointer, most=MESSAGE_BLOCKS_MAX)


def check_view(view: Any, pointer: str = "/view") -> None:
    """A modal or Home tab view object."""
    if not isinstance(view, dict):
        raise InvalidBlocks(pointer, "must be a view object")
    kind = view.get("type")
    if kind not in ("modal", "home"):
        raise InvalidBlocks(f"{pointer}/type", f"must be 'modal' or 'home' (got {kind!r})")
    _check_blocks(view.get("blocks"), f"{pointer}/blocks", most=VIEW_BLOCKS_MAX)
    check_id(view, "callback_id", pointer)
    check_id(view, "external_id", pointer)
    if "private_metadata" in view:
        check_length(view["private_metadata"], PRIVATE_METADATA_MAX, f"{pointer}/private_metadata")
    if kind == "modal":
        _check_modal_chrome(view, pointer)


def _check_modal_chrome(view: dict[str, Any], pointer: str) -> None:
    check_text(view.get("title"), f"{pointer}/title", limit=MODAL_TITLE_MAX, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            check_text(view[key], f"{pointer}/{key}", limit=MODAL_BUTTON_MAX, plain_only=True)
    if "submit" not in view and any(b.get("type") == "input" for b in view["blocks"]):
        raise InvalidBlocks(f"{pointer}/submit", "is required when the view has input blocks")


def _check_blocks(blocks: Any, pointer: str, *, most: int) -> None:
    if not isinstance(blocks, list):
        raise InvalidBlocks(pointer, "must be a list of blocks")
    if len(blocks) > most:
        raise InvalidBlocks(pointer, f"must have at most {most} blocks (got {len(blocks)})")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        _check_block(block, f"{pointer}/{i}")
        block_id = block.get("block_id")
        if block_id is not None and block_id in seen:
            raise InvalidBlocks(f"{pointer}/{i}/block_id", f"duplicate block_id {block_id!r}")
        seen.add(block_id)


def _check_block(block: Any, pointer: str) -> None:
    if not isinstance(block, dict):
        raise InvalidBlocks(pointer, "must be a block object")
    check_id(block, "block_id", pointer)
    kind: Any = block.get("type")
    checker = _CHECKERS.get(kind)
    if checker is None and kind not in _FREE_FORM:
        raise InvalidBlocks(f"{pointer}/type", f"unknown block type {kind!r}")
    if checker is not None:
        checker(block, pointer)


def _section(block: dict[str, Any], pointer: str) -> None:
    if "text" not in block and "fields" not in block:
        raise InvalidBlocks(pointer, "a section needs text or fields")
    if "text" in block:
        check_text(block["text"], f"{pointer}/text", limit=SECTION_TEXT_MAX)
    fields = block.get("fields", [])
    if len(fields) > SECTION_FIELDS_MAX:
        raise InvalidBlocks(f"{pointer}/fields", f"must have at most {SECTION_FIELDS_MAX} fields")
    for i, field in enumerate(fields):
        check_text(field, f"{pointer}/fields/{i}", limit=SECTION_FIELD_MAX)
    if "accessory" in block:
        check_element(block["accessory"], f"{pointer}/accessory")


def _header(block: dict[str, Any], pointer: str) -> None:
    check_text(block.get("text"), f"{pointer}/text", limit=HEADER_TEXT_MAX, plain_only=True)


def _actions(block: dict[str, Any], pointer: str) -> None:
    elements = _element_list(block, pointer, ACTIONS_ELEMENTS_MAX)
    action_ids: set[str] = set()
    for i, element in enumerate(elements):
        check_element(element, f"{pointer}/elements/{i}")
        action_id = element.get("action_id")
        if action_id is not None and action_id in action_ids:
            raise InvalidBlocks(f"{pointer}/elements/{i}/action_id", f"duplicate action_id {action_id!r}")
        action_ids.add(action_id)


def _context(block: dict[str, Any], pointer: str) -> None:
    for i, element in enumerate(_element_list(block, pointer, CONTEXT_ELEMENTS_MAX)):
        if isinstance(element, dict) and element.get("type") == "image":
            check_element(element, f"{pointer}/elements/{i}")
        else:
            check_text(element, f"{pointer}/elements/{i}", limit=SECTION_TEXT_MAX)


def _input(block: dict[str, Any], pointer: str) -> None:
    check_text(block.get("label"), f"{pointer}/label", limit=LABEL_MAX, plain_only=True)
    if "hint" in block:
        check_text(block["hint"], f"{pointer}/hint", limit=LABEL_MAX, plain_only=True)
    if "element" not in block:
        raise InvalidBlocks(f"{pointer}/element", "is required")
    check_element(block["element"], f"{pointer}/element")


def _element_list(block: dict[str, Any], pointer: str, most: int) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise InvalidBlocks(f"{pointer}/elements", "must be a non-empty list")
    if len(elements) > most:
        raise InvalidBlocks(f"{pointer}/elements", f"must have at most {most} elements (got {len(elements)})")
    return elements


_CHECKERS = {"section": _section, "header": _header, "actions": _actions, "context": _context, "input": _input}
