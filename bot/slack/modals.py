"""Pure Block Kit builders for the requester's modals (request access, deny with a reason)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.durations import format_duration
from bot.domain.text import truncate
from bot.services.read_models import AccountRead, ResourceRead
from bot.slack.blocks import context
from bot.slack.ids import VALUE, Block, View

MAX_OPTIONS = 100


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def modal(callback: View, title: str, blocks: list[dict[str, Any]], *, submit: str | None = "Submit",
          metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": callback.value, "title": plain(title, 24),
                            "close": plain("Cancel"), "blocks": blocks,
                            "private_metadata": json.dumps(metadata or {})}
    if submit:
        view["submit"] = plain(submit)
    return view


def text_input(block: Block, label: str, *, initial: str = "", multiline: bool = False, optional: bool = False,
               placeholder: str = "", max_length: int = 3000) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE, "multiline": multiline,
                               "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return {"type": "input", "block_id": block.value, "label": plain(label, 2000), "element": element,
            "optional": optional}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value[:150]}


def account_options(rows: Sequence[tuple[ResourceRead, AccountRead]]) -> list[dict[str, Any]]:
    return [option(f"{r.name} / {a.name} (up to {format_duration(a.default_duration_seconds)})",
                   f"{r.name}/{a.name}") for r, a in rows[:MAX_OPTIONS]]


def request_modal(rows: Sequence[tuple[ResourceRead, AccountRead]], *, selected: str | None = None,
                  duration: str = "", reason: str = "", note: str = "") -> dict[str, Any]:
    """Ask for access: account, duration, reason (the slash command's twin)."""
    options = account_options(rows)
    select: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "options": options,
                              "placeholder": plain("Choose an account")}
    initial = next((o for o in options if o["value"] == selected), None)
    if initial:
        select["initial_option"] = initial
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append(context(note))
    if not options:
        blocks.append(context("There is no account you can ask for yet. Ask a pam-bot admin to add you."))
        return modal(View.REQUEST, "Request access", blocks, submit=None)
    blocks += [
        {"type": "input", "block_id": Block.ACCOUNT.value, "label": plain("Account"), "element": select},
        text_input(Block.DURATION, "Duration (15m to 1h; empty for the account's default)", initial=duration,
                   optional=True, placeholder="30m", max_length=20),
        text_input(Block.START, "Start at (empty: as soon as approved)", optional=True, placeholder="22:00",
                   max_length=20),
        text_input(Block.REASON, "Reason", initial=reason, multiline=True, optional=True,
                   placeholder="What you need it for, e.g. INC-42"),
        context("A start is in your Slack time zone (`22:00`, or `2026-12-01 22:00`), at most 7 days ahead: "
                "approvers decide before, the link comes at the start."),
    ]
    glass = [f"{r.name}/{a.name}" for r, a in rows if a.break_glass]
    if glass:
        blocks.append({"type": "input", "block_id": Block.URGENCY.value, "optional": True,
                       "label": plain("Emergency"), "element": {
                           "type": "checkboxes", "action_id": VALUE, "options": [{
                               "text": plain("Break-glass: access now, without approval"),
                               "description": plain(truncate("Loud: approvers and admins are told and review it "
                                                             "after. Allowed on " + ", ".join(glass), 75)),
                               "value": "break_glass"}]}})
    if len(rows) > MAX_OPTIONS:
        blocks.append(context(f"Showing {MAX_OPTIONS} of {len(rows)} accounts; use `/pam access` for the rest."))
    return modal(View.REQUEST, "Request access", blocks, submit="Request")


def deny_modal(ref: str) -> dict[str, Any]:
    """Deny with an optional reason the requester will read."""
    return modal(View.DENY, "Deny request", [
        context(f"Denying request {ref}."),
        text_input(Block.REASON, "Reason (optional, shown to the requester)", multiline=True, optional=True,
                   max_length=1000),
    ], submit="Deny", metadata={"ref": ref})
