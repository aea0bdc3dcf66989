"""Durations: what people may type, and every way a duration is refused."""

from __future__ import annotations

import re

import pytest

from bot.domain.durations import MAX_SECONDS, MIN_SECONDS, format_duration, looks_like_duration, parse_duration
from bot.domain.errors import InvalidInput
from bot.domain.text import escape_mrkdwn


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("30m", 1800), ("1h", 3600), ("45 minutes", 2700), ("1h0m", 3600), ("3600s", 3600),
    ("  30m  ", 1800), ("30M", 1800), ("1 hour", 3600), ("15m30s", 930), ("0.25h", 900), ("+30m", 1800),
    ("900s", 900), ("59m59s", 3599),
])
def test_accepts(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "says"), [
    ("", "Give a duration"),
    ("   ", "Give a duration"),
    ("abc", "`abc` is not a duration"),
    ("-5m", "not a positive duration"),
    ("- 5m", "not a positive duration"),
    ("-0m", "not a positive duration"),
    ("0s", "not a positive duration"),
    ("5m", "shorter than 15m"),
    ("14m59s", "shorter than 15m"),
    ("15", "`15` has no unit: write 15m"),
    ("900", "has no unit"),
    ("1.5", "has no unit"),
    ("2h", "longer than 1h"),
    ("1h1s", "longer than 1h"),
    ("1d", "longer than 1h"),
    ("900.5s", "not a whole number of seconds"),
    ("1.5s", "not a whole number of seconds"),
    ("1" * 60 + "m", "is not a duration"),
    ("١٥m", "is not a duration"),  # digits outside ASCII
])
def test_refuses_with_a_message_that_says_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    error = caught.value
    assert error.field == "duration"
    assert says in error.user_message
    assert "15m to 1h" in error.user_message


@pytest.mark.parametrize("text", ["<!channel>", "a&b", "x" * 50, "<https://evil|click>"])
def test_never_echoes_unsafe_text(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    message = caught.value.user_message
    assert message.startswith(f"`{escape_mrkdwn(text)}` is not a duration")  # quoted, escaped once
    assert "<" not in message and ">" not in message
    assert "&" not in re.sub(r"&(amp|lt|gt);", "", message)


@pytest.mark.parametrize(("text", "maximum", "expected"), [
    ("30m", 1800, 1800), ("15m", 1800, 900), ("1h", 3600, 3600), ("1h", 7200, 3600),
])
def test_account_maximum_allows(text: str, maximum: int, expected: int) -> None:
    assert parse_duration(text, maximum_seconds=maximum) == expected


def test_account_maximum_refuses_longer_and_names_the_limit() -> None:
    with pytest.raises(InvalidInput, match="This account allows at most 30m") as caught:
        parse_duration("45m", maximum_seconds=1800)
    assert caught.value.field == "duration"


def test_the_hard_cap_wins_over_a_generous_account() -> None:
    with pytest.raises(InvalidInput, match="longer than 1h"):
        parse_duration("2h", maximum_seconds=7200)


@pytest.mark.parametrize(("word", "expected"), [
    ("30m", True), ("2h", True), ("-5m", True), ("5m", True), ("1d", True), ("15", True), ("0", True),
    ("1.5", True), ("15:00", True), ("45minutes", True),
    ("abc", False), ("INC-42", False), ("", False), ("m", False), ("checking", False), ("#42", False),
    ("<@U123|bob>", False), ("1h-ish", False),
])
def test_looks_like_duration(word: str, expected: bool) -> None:
    assert looks_like_duration(word) is expected


@pytest.mark.parametrize(("seconds", "text"), [
    (900, "15m"), (1800, "30m"), (3600, "1h"), (5400, "1h 30m"), (45, "45s"), (930, "15m 30s"),
    (3605, "1h 5s"), (0, "0s"), (-300, "-5m"), (900.0, "15m"),
])
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_reads_back_for_every_allowed_minute() -> None:
    for seconds in range(MIN_SECONDS, MAX_SECONDS + 1, 60):
        assert parse_duration(format_duration(seconds)) == seconds
