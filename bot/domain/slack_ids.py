"""Slack ids by shape: users `U…`/`W…`, user groups `S…`, channels `C…`/`G…` (checked before anything is saved)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain.errors import InvalidInput
from bot.domain.text import quote

USER = re.compile(r"[UW][A-Z0-9]{2,31}")
GROUP = re.compile(r"S[A-Z0-9]{2,31}")
CHANNEL = re.compile(r"[CG][A-Z0-9]{2,31}")
USER_PATTERN, GROUP_PATTERN, CHANNEL_PATTERN = (f"^{p.pattern}$" for p in (USER, GROUP, CHANNEL))
_HOW = {
    "user": "a Slack user id looks like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID)",
    "group": "a Slack user group id looks like S0123ABCD (in Slack: open the group → ⋮ → Copy group ID)",
    "channel": "a Slack channel id looks like C0123ABCD (in Slack: the channel's details, at the bottom)",
}
_SHAPES = {"user": USER, "group": GROUP, "channel": CHANNEL}


def slack_id(kind: str, value: str, *, field: str) -> str:
    """`value` when it has the shape of a Slack `kind` id ("user", "group", "channel"), else InvalidInput."""
    if not isinstance(value, str) or not _SHAPES[kind].fullmatch(value):
        raise InvalidInput(f"{quote(str(value))} is not a Slack {kind} id: {_HOW[kind]}.", field=field,
                           code="bad_slack_id", detail=f"{field}: not a {kind} id")
    return value


def user_ids(values: Iterable[str], *, field: str) -> tuple[str, ...]:
    return tuple(slack_id("user", value, field=field) for value in values)


def optional(kind: str, value: str | None, *, field: str) -> str | None:
    return slack_id(kind, value, field=field) if value else None
