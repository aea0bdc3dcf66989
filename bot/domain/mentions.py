"""Slack mentions in command text: `<@U…|name>`, `<!subteam^S…|@group>`, `<#C…|name>` (and without names)."""

from __future__ import annotations

import re

from bot.domain.errors import InvalidInput
from bot.domain.text import quote, unescape_slack

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_GROUP_OR_CHANNEL = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>|<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def person(word: str) -> str | None:
    """The Slack user id `word` names (a user mention or a bare id), None when it names no one.

    InvalidInput for a group or channel mention, and for an `@name` Slack sent as plain text (an app whose
    manifest does not escape, or a name typed without picking it from Slack's list).
    """
    match = _USER.fullmatch(word)
    if match or _USER_ID.fullmatch(word):
        return match.group(1) if match else word
    if _GROUP_OR_CHANNEL.fullmatch(word):
        raise InvalidInput("Mention one person, not a group or a channel.", detail="not a person")
    if word.startswith("@"):
        raise InvalidInput(f"Slack sent {quote(unescape_slack(word))} as plain text, not as a mention. Type @, "
                           "pick the person from the list so Slack completes the name, then send.",
                           detail="uncompleted mention")
    return None


def mentioned(word: str) -> str | None:
    """The id in any mention (user, group or channel), None when `word` is not one."""
    match = _USER.fullmatch(word) or _GROUP_OR_CHANNEL.fullmatch(word)
    return next(group for group in match.groups() if group) if match else None
