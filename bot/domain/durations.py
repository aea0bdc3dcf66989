"""Session durations: parse what people type (`30m`, `1h`) and keep it within what STS allows."""

from __future__ import annotations

import re

from pytimeparse import parse as _timeparse

from bot.domain.errors import InvalidInput
from bot.domain.text import quote

MIN_SECONDS = 900  # the shortest session STS grants
MAX_SECONDS = 3600  # role chaining caps a session at one hour
ALLOWED = "Durations go from 15m to 1h, for example 30m or 1h."

_MAX_TEXT = 40  # nobody types a longer duration; longer text is not parsed at all
# A number without a unit ("15", "1.5"). Some pytimeparse versions read it as seconds, others not at all;
# either way it is never what anyone means, so it counts as a duration attempt and is refused.
_BARE_NUMBER = re.compile(r"[+-]?\s*\d+(?:\.\d*)?", re.ASCII)


def _seconds(text: str) -> int | float | None:
    """pytimeparse's reading of `text`, or None (empty, too long, non-ASCII digits, unparseable)."""
    if not text or len(text) > _MAX_TEXT or not text.isascii():
        return None
    return _timeparse(text)


def looks_like_duration(word: str) -> bool:
    """True when `word` is meant as a duration, even a bad one (`2h`, `-5m`, a bare `15`).

    `/pam access` uses it to tell the optional duration from the first word of the reason.
    """
    word = word.strip()
    return bool(_BARE_NUMBER.fullmatch(word)) or _seconds(word) is not None


def parse_duration(text: str, *, maximum_seconds: int = MAX_SECONDS) -> int:
    """Whole seconds between 15m and the smaller of 1h and `maximum_seconds` (the account's default)."""
    text = text.strip()
    said = quote(text, otherwise="That")
    if not text:
        raise _invalid(f"Give a duration. {ALLOWED}")
    if _BARE_NUMBER.fullmatch(text):
        raise _invalid(f"{said} has no unit: write {text.strip('+-. ')}m for minutes. {ALLOWED}")
    seconds = _seconds(text)
    if seconds is None:
        raise _invalid(f"{said} is not a duration. {ALLOWED}")
    if seconds <= 0:
        raise _invalid(f"{said} is not a positive duration. {ALLOWED}")
    if seconds != int(seconds):
        raise _invalid(f"{said} is not a whole number of seconds. {ALLOWED}")
    seconds = int(seconds)
    if seconds < MIN_SECONDS:
        raise _invalid(f"{said} is shorter than {format_duration(MIN_SECONDS)}, the shortest session AWS grants. "
                       f"{ALLOWED}")
    if seconds > MAX_SECONDS:
        raise _invalid(f"{said} is longer than {format_duration(MAX_SECONDS)}, the longest console session "
                       f"AWS allows here. {ALLOWED}")
    if seconds > maximum_seconds:
        most = format_duration(maximum_seconds)
        raise _invalid(f"This account allows at most {most}; ask for {format_duration(MIN_SECONDS)} to {most}.")
    return seconds


def format_duration(seconds: int | float) -> str:
    """Compact form that parse_duration reads back: `15m`, `1h`, `1h 30m`, `45s`."""
    total = int(seconds)
    if total < 0:
        return "-" + format_duration(-total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return " ".join(parts) or "0s"


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, field="duration")
