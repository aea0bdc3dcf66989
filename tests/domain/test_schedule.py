"""Start times for scheduled access: read in the person's zone, next occurrence, never past, at most 7 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.command import Access, BreakGlass, parse_command
from bot.domain.errors import InvalidInput
from bot.domain.schedule import start_at

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 14:00 in UTC+2


@pytest.mark.parametrize("typed, offset, expected", [
    ("22:00", 0, datetime(2026, 3, 2, 22, 0, tzinfo=UTC)),
    ("22:00", 7200, datetime(2026, 3, 2, 20, 0, tzinfo=UTC)),  # 22:00 in UTC+2
    ("08:30", 7200, datetime(2026, 3, 3, 6, 30, tzinfo=UTC)),  # already past today there: tomorrow morning
    ("9:15", -18000, datetime(2026, 3, 2, 14, 15, tzinfo=UTC)),  # UTC-5: 07:00 there now, so 09:15 is today
    ("2026-03-08 23:00", 0, datetime(2026, 3, 8, 23, 0, tzinfo=UTC)),
])
def test_a_start_is_read_in_the_persons_zone(typed: str, offset: int, expected: datetime) -> None:
    assert start_at(typed, now=NOW, utc_offset_seconds=offset) == expected


@pytest.mark.parametrize("typed, problem", [
    ("2026-03-01 10:00", "has passed"), ("2026-03-10 10:00", "7 days"), ("25:00", "not a real"),
    ("2026-02-30 10:00", "not a real"), ("noon", "can't read"),
])
def test_a_bad_start_is_refused_with_why(typed: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        start_at(typed, now=NOW, utc_offset_seconds=0)
    assert problem in refused.value.user_message and refused.value.field == "start"


def test_the_command_reads_at_after_the_duration_and_keeps_at_in_a_reason() -> None:
    assert parse_command("access prod-aws admin 1h at 22:00 change window") == \
        Access("prod-aws", "admin", "1h", "change window", "22:00")
    assert parse_command("access prod-aws admin at 2026-03-08 22:00") == \
        Access("prod-aws", "admin", None, "", "2026-03-08 22:00")
    assert parse_command("access prod-aws admin 30m at the office") == \
        Access("prod-aws", "admin", "30m", "at the office", None)
    with pytest.raises(InvalidInput, match="Break-glass is for now"):
        parse_command("break-glass prod-aws admin at 22:00 fire")
    assert isinstance(parse_command("break-glass prod-aws admin fire"), BreakGlass)
