"""Directory methods of the Slack stand-in: auth.test, users.*, usergroups.users.list, conversations.*."""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.slack_workspace import SlackError, Workspace, required

MPIM_MAX_USERS = 8


def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Who the token is: team (and the organisation of a Grid workspace), bot user, bot id."""
    answer = {
        "ok": True, "url": f"https://{ws.domain}.slack.com/", "team": "PAM Sandbox", "user": "pam-bot",
        "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id, "is_enterprise_install": False,
    }
    if ws.enterprise_id:
        answer["enterprise_id"] = ws.enterprise_id
    return answer


def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "user": ws.user(required(args, "user", "user_not_found"))}


def users_lookup_by_email(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    email = str(required(args, "email", "users_not_found")).strip().lower()
    for user in ws.users.values():
        if str(user["profile"].get("email", "")).lower() == email:
            return {"ok": True, "user": user}
    raise SlackError("users_not_found")


def usergroups_users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    group_id = required(args, "usergroup", "no_such_subteam")
    if group_id not in ws.usergroups:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(ws.usergroups[group_id])}


def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        channel_id = ws.conversation(args["channel"], allow_user_id=False)
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel_id}}
    users = [u.strip() for u in str(required(args, "users", "user_not_found")).split(",") if u.strip()]
    if len(users) > MPIM_MAX_USERS:
        raise SlackError("too_many_users")
    channel_id = ws.dm_user(users[0]) if len(users) == 1 else _open_group_dm(ws, users)
    already_open = channel_id in ws.opened_dms
    ws.opened_dms.add(channel_id)
    return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": {"id": channel_id}}


def _open_group_dm(ws: Workspace, users: list[str]) -> str:
    for user_id in users:
        ws.dm_user(user_id)
    digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
    channel_id = f"G{digest}"
    ws.channels.setdefault(channel_id, {"name": f"mpdm-{'--'.join(users)}", "is_private": True,
                                        "is_member": True, "is_mpim": True})
    return channel_id


def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel_id = required(args, "channel", "channel_not_found")
    channel = ws.channels.get(channel_id) if isinstance(channel_id, str) else None
    if channel is not None and channel.get("is_private") and not channel["is_member"]:
        raise SlackError("channel_not_found")  # Slack hides a private channel from an app outside it
    if channel is not None:
        return {"ok": True, "channel": _channel_object(ws, channel_id)}
    if isinstance(channel_id, str) and channel_id.startswith("D") and channel_id[1:] in ws.users:
        return {"ok": True, "channel": {"id": channel_id, "is_im": True, "user": channel_id[1:],
                                        "is_org_shared": False, "created": int(ws.clock())}}
    raise SlackError("channel_not_found")


def _channel_object(ws: Workspace, channel_id: str) -> dict[str, Any]:
    channel = ws.channels[channel_id]
    private = bool(channel.get("is_private"))
    return {
        "id": channel_id, "name": channel.get("name") or channel_id.lower(), "is_channel": not private,
        "is_group": private, "is_im": False, "is_mpim": bool(channel.get("is_mpim")), "is_private": private,
        "is_archived": False, "is_general": False, "is_member": bool(channel["is_member"]),
        "context_team_id": ws.team_id, "created": int(ws.clock()),
    }


METHODS = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
}
