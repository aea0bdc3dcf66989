"""Scheduled access: `at 22:00` or `at 2026-12-01 22:00`, in the requester's time zone, at most 7 days ahead."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, UTC

from bot.domain.errors import InvalidInput
from bot.domain.text import quote

MAX_AHEAD = timedelta(days=7)
_AT = re.compile(r"^(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


def looks_like_start(text: str) -> bool:
    """Whether `text` is shaped like a start time (`22:00`, `2026-12-01 22:00`)."""
    return bool(_AT.match(text.strip()))


def start_at(text: str, *, now: datetime, utc_offset_seconds: int) -> datetime:
    """The UTC moment `text` names in the person's zone: a bare time is its next occurrence, a date+time is exact.

    InvalidInput when it cannot be read, is in the past, or is more than 7 days ahead.
    """
    match = _AT.match(text.strip())
    if match is None:
        raise InvalidInput(f"I can't read {quote(text)} as a start time: say `at 22:00` or `at 2026-12-01 22:00` "
                           "(your Slack time zone).", field="start")
    zone = timezone(timedelta(seconds=utc_offset_seconds))
    local_now = now.astimezone(zone)
    try:
        clock = time(int(match["hour"]), int(match["minute"]))
        day = date.fromisoformat(match["date"]) if match["date"] else local_now.date()
    except ValueError as error:
        raise InvalidInput(f"{quote(text)} is not a real date and time.", field="start") from error
    moment = datetime.combine(day, clock, tzinfo=zone)
    if match["date"] is None and moment <= local_now:
        moment += timedelta(days=1)  # 08:00 typed in the evening means tomorrow morning
    if moment <= local_now:
        raise InvalidInput(f"{quote(text)} has passed; give a start in the future.", field="start")
    if moment - local_now > MAX_AHEAD:
        raise InvalidInput("A start can be at most 7 days ahead; ask again closer to the time.", field="start")
    return moment.astimezone(UTC)
