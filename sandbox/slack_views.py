"""views.* methods of the Slack stand-in: modals opened by trigger id, updates with hash checks, Home tabs."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.slack_blocks import InvalidBlocks, check_view
from sandbox.slack_workspace import SlackError, Workspace, required


def open_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    spec = _checked(args, kind="modal")
    ws.use_trigger(required(args, "trigger_id", "invalid_trigger_id"))
    return _store(ws, ws.next_id("V"), spec)


def push_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    spec = _checked(args, kind="modal")
    ws.use_trigger(required(args, "trigger_id", "invalid_trigger_id"))
    return _store(ws, ws.next_id("V"), spec)


def update_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    current = _find(ws, args)
    spec = _checked(args, kind=current["type"])
    if args.get("hash") not in (None, "", current["hash"]):
        raise SlackError("hash_conflict")
    answer = _store(ws, current["id"], spec, previous=current)
    for user_id, view in list(ws.published.items()):
        if view["id"] == current["id"]:
            ws.published[user_id] = answer["view"]
    return answer


def publish_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user_id = required(args, "user_id", "user_not_found")
    ws.user(user_id)
    spec = _checked(args, kind="home")
    current = ws.published.get(user_id)
    if current is not None and args.get("hash") not in (None, "", current["hash"]):
        raise SlackError("hash_conflict")
    answer = _store(ws, current["id"] if current else ws.next_id("V"), spec, previous=current)
    ws.published[user_id] = answer["view"]
    return answer


def _checked(args: dict[str, Any], *, kind: str) -> dict[str, Any]:
    view = required(args, "view")
    try:
        check_view(view)
    except InvalidBlocks as exc:
        raise SlackError("invalid_blocks", errors=[exc.reason],
                         response_metadata={"messages": [f"[ERROR] {exc.reason}"]}) from exc
    if view["type"] != kind:
        raise SlackError("invalid_arguments",
                         response_metadata={"messages": [f"[ERROR] view type must be {kind!r} here"]})
    return view


def _find(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view_id or external_id"]})
    for view in ws.views.values():
        if view["id"] == view_id or (external_id and view.get("external_id") == external_id):
            return view
    raise SlackError("not_found")


def _store(ws: Workspace, view_id: str, spec: dict[str, Any], *,
           previous: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {
        "id": view_id, "team_id": ws.team_id, "type": spec["type"], "blocks": spec["blocks"],
        "private_metadata": spec.get("private_metadata", ""), "callback_id": spec.get("callback_id", ""),
        "state": {"values": {}}, "hash": f"{int(ws.clock())}.{secrets.token_hex(4)}",
        "title": spec.get("title"), "close": spec.get("close"), "submit": spec.get("submit"),
        "clear_on_close": bool(spec.get("clear_on_close", False)),
        "notify_on_close": bool(spec.get("notify_on_close", False)),
        "previous_view_id": previous.get("previous_view_id") if previous else None,
        "root_view_id": previous["root_view_id"] if previous else view_id,
        "app_id": ws.app_id, "external_id": spec.get("external_id", ""), "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
    ws.views[view_id] = view
    return {"ok": True, "view": view}


METHODS = {
    "views.open": open_view,
    "views.push": push_view,
    "views.update": update_view,
    "views.publish": publish_view,
}
