"""State of the sandbox Slack workspace: directory, conversations, messages, views and trigger ids."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TRIGGER_TTL_SECONDS = 3.0


class SlackError(Exception):
    """An `ok: false` answer, with optional extra keys (`errors`, `response_metadata`...)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Workspace:
    """Everything the stand-in remembers; callers hold `lock` while reading or changing it."""

    team_id: str
    bot_user_id: str
    clock: Callable[[], float]
    enterprise_id: str | None = None  # an Enterprise Grid workspace's organisation
    bot_id: str = "B0PAMBOT"
    app_id: str = "A0PAMBOT"
    domain: str = "pam-sandbox"
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: dict[str, dict[str, Any]] = field(default_factory=dict)
    opened_dms: set[str] = field(default_factory=set)
    triggers: dict[str, float] = field(default_factory=dict)
    used_triggers: set[str] = field(default_factory=set)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _last_ts: float = 0.0

    def __post_init__(self) -> None:
        self.add_user(self.bot_user_id, name="pam-bot", is_bot=True)

    def add_user(self, user_id: str, *, name: str, email: str | None = None, is_bot: bool = False,
                 deleted: bool = False, is_restricted: bool = False, is_ultra_restricted: bool = False,
                 is_admin: bool = False, is_stranger: bool = False, team_id: str | None = None,
                 tz_offset: int = 0) -> dict[str, Any]:
        """A person; `is_stranger` is a Slack Connect member of another organisation (limited profile);
        `tz_offset` is their time zone's offset from UTC in seconds, as users.info reports it."""
        team = team_id or self.team_id
        profile: dict[str, Any] = {"real_name": name, "display_name": name, "team": team}
        if email is not None and not is_stranger:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id}"
        user = {
            "id": user_id, "team_id": team, "name": name, "real_name": name, "deleted": deleted,
            "tz": "UTC" if not tz_offset else f"Etc/GMT{-tz_offset // 3600:+d}", "tz_offset": tz_offset,
            "tz_label": "Coordinated Universal Time" if not tz_offset else f"UTC{tz_offset // 3600:+d}", "profile": profile,
            "is_admin": is_admin, "is_owner": False, "is_primary_owner": False, "is_restricted": is_restricted,
            "is_ultra_restricted": is_ultra_restricted, "is_bot": is_bot, "is_app_user": False,
            "updated": int(self.clock()),
        }
        if is_stranger:
            user["is_stranger"] = True
        if self.enterprise_id and team == self.team_id:
            user["enterprise_user"] = {"id": user_id, "enterprise_id": self.enterprise_id, "teams": [team]}
        with self.lock:
            self.users[user_id] = user
        return user

    def user(self, user_id: Any) -> dict[str, Any]:
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def dm_user(self, user_id: str) -> str:
        """The DM conversation id with a person the bot may write to."""
        user = self.user(user_id)
        if user["deleted"]:
            raise SlackError("user_disabled")
        if user["is_bot"]:
            raise SlackError("cannot_dm_bot")
        return f"D{user_id}"

    def conversation(self, channel: Any, *, allow_user_id: bool = True) -> str:
        """Resolve a channel argument (id, `#name`, DM id, or user id when allowed) to a conversation id."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel.startswith("#"):
            channel = next((cid for cid, c in self.channels.items() if c.get("name") == channel[1:]), channel)
        if channel in self.channels:
            if not self.channels[channel]["is_member"]:
                raise SlackError("not_in_channel")
            return channel
        if channel.startswith("D") and channel[1:] in self.users:
            return self.dm_user(channel[1:])
        if allow_user_id and channel in self.users:
            return self.dm_user(channel)
        raise SlackError("channel_not_found")

    def next_ts(self) -> str:
        """A message timestamp like Slack's (`1700000000.000123`), strictly increasing."""
        self._last_ts = max(round(self.clock(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):08d}"

    def issue_trigger(self) -> str:
        trigger_id = f"{next(self._seq)}.{self.team_id}.{secrets.token_hex(8)}"
        with self.lock:
            self.triggers[trigger_id] = self.clock()
        return trigger_id

    def use_trigger(self, trigger_id: Any) -> None:
        """Consume a trigger id: single use, and only within 3 s of being issued."""
        if not isinstance(trigger_id, str) or trigger_id not in self.triggers or trigger_id in self.used_triggers:
            raise SlackError("invalid_trigger_id")
        if self.clock() - self.triggers[trigger_id] > TRIGGER_TTL_SECONDS:
            raise SlackError("expired_trigger_id")
        self.used_triggers.add(trigger_id)


def required(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> Any:
    """An argument Slack insists on; missing or empty answers `error`."""
    value = args.get(key)
    if value in (None, ""):
        if error == "invalid_arguments":
            raise SlackError(error, response_metadata={"messages": [f"[ERROR] missing required field: {key}"]})
        raise SlackError(error)
    return value
