"""chat.* methods of the Slack stand-in: post, update, ephemeral and permalinks, with the message rules."""

from __future__ import annotations

from typing import Any

from sandbox.slack_blocks import InvalidBlocks, check_message_blocks
from sandbox.slack_workspace import SlackError, Workspace, required

TEXT_MAX = 40_000


def check_message_content(args: dict[str, Any]) -> None:
    """Our rules for any message: top-level `text` always, and blocks within Block Kit limits.

    Slack itself only logs a warning when `text` is missing next to `blocks`; pam-bot's rule is stricter
    (notifications and screen readers need the text), so the stand-in answers `no_text`.
    """
    text = args.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SlackError("no_text")
    if len(text) > TEXT_MAX:
        raise SlackError("msg_too_long")
    if "blocks" in args:
        try:
            check_message_blocks(args["blocks"])
        except InvalidBlocks as exc:
            raise SlackError("invalid_blocks", errors=[exc.reason],
                             response_metadata={"messages": [f"[ERROR] {exc.reason}"]}) from exc


def post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.conversation(required(args, "channel", "channel_not_found"))
    check_message_content(args)
    ts = ws.next_ts()
    message = {
        "type": "message", "channel": channel, "ts": ts, "text": args["text"], "blocks": args.get("blocks", []),
        "user": ws.bot_user_id, "bot_id": ws.bot_id, "app_id": ws.app_id, "team": ws.team_id,
    }
    for key in ("thread_ts", "attachments", "metadata"):
        if key in args:
            message[key] = args[key]
    ws.messages[(channel, ts)] = message
    return {"ok": True, "channel": channel, "ts": ts, "message": public(message)}


def stored_message(ws: Workspace, args: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The message `channel` and `ts` name. chat.update and chat.delete want a conversation id: a user id is not
    accepted, unlike chat.postMessage."""
    channel = ws.conversation(required(args, "channel", "channel_not_found"), allow_user_id=False)
    ts = required(args, "ts", "message_not_found")
    message = ws.messages.get((channel, ts))
    if message is None:
        raise SlackError("message_not_found")
    return channel, ts, message


def update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, ts, message = stored_message(ws, args)
    check_message_content(args)
    message["text"] = args["text"]
    for key in ("blocks", "attachments", "metadata"):  # Slack keeps the previous value when a key is absent
        if key in args:
            message[key] = args[key]
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": public(message)}


def delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.delete (every message the stand-in stores is the bot's own, which a bot token may delete)."""
    channel, ts, _ = stored_message(ws, args)
    del ws.messages[(channel, ts)]
    return {"ok": True, "channel": channel, "ts": ts}


def post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ws.conversation(required(args, "channel", "channel_not_found"), allow_user_id=False)
    ws.user(required(args, "user", "user_not_found"))
    check_message_content(args)
    return {"ok": True, "message_ts": ws.next_ts()}


def get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.conversation(required(args, "channel", "channel_not_found"), allow_user_id=False)
    ts = required(args, "message_ts", "message_not_found")
    if (channel, ts) not in ws.messages:
        raise SlackError("message_not_found")
    link = f"https://{ws.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel, "permalink": link}


def history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: top-level messages newest first, at or after `oldest`; metadata only with
    `include_all_metadata` (as on Slack)."""
    channel = ws.conversation(required(args, "channel", "channel_not_found"), allow_user_id=False)
    oldest = float(args.get("oldest") or 0)
    limit = int(args.get("limit") or 100)
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    found = sorted((m for (cid, ts), m in list(ws.messages.items())
                    if cid == channel and float(ts) >= oldest and m.get("thread_ts") in (None, ts)),
                   key=lambda m: float(m["ts"]), reverse=True)[:limit]
    messages = [{k: v for k, v in public(m).items() if with_metadata or k != "metadata"} for m in found]
    return {"ok": True, "messages": messages, "has_more": False}


def public(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as Slack returns it (without the conversation id)."""
    return {k: v for k, v in message.items() if k != "channel"}


METHODS = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "conversations.history": history,
}
