"""Property tests: whatever people type, the domain answers with a value or an InvalidInput."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.command import parse_command
from bot.domain.durations import MAX_SECONDS, MIN_SECONDS, looks_like_duration, parse_duration
from bot.domain.errors import InvalidInput
from bot.domain.names import is_valid_session_name, role_session_name, validate_name
from bot.domain.text import truncate

# Text that looks like durations often, so the parser's branches are actually reached.
duration_like = st.one_of(
    st.text(),
    st.from_regex(r"\s?[+-]?\d{1,4}(\.\d{0,2})?\s?(s|m|h|d|w|min|minutes|hours?|secs?)?\s?", fullmatch=True),
    st.from_regex(r"\d{1,2}h\d{1,2}m\d{1,2}s|\d{1,2}:\d{2}(:\d{2})?", fullmatch=True),
)


@given(duration_like)
def test_parse_duration_returns_an_allowed_value_or_invalid_input(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except InvalidInput as error:
        assert error.field == "duration"
        assert "15m to 1h" in error.user_message or "This account allows" in error.user_message
        return
    assert isinstance(seconds, int)
    assert MIN_SECONDS <= seconds <= MAX_SECONDS
    assert looks_like_duration(text)


@given(duration_like, st.integers(min_value=MIN_SECONDS, max_value=MAX_SECONDS))
def test_account_maximum_is_respected(text: str, maximum: int) -> None:
    with contextlib.suppress(InvalidInput):
        assert MIN_SECONDS <= parse_duration(text, maximum_seconds=maximum) <= maximum


@given(st.one_of(st.none(), st.text(), st.emails()), st.text())
def test_role_session_name_is_always_valid(email: str | None, user_id: str) -> None:
    name = role_session_name(email, user_id)
    assert is_valid_session_name(name)
    assert name == role_session_name(email, user_id)


@settings(max_examples=300)
@given(st.emails(), st.emails())
def test_different_emails_give_different_names(one: str, two: str) -> None:
    if one.strip() != two.strip():
        assert role_session_name(one, "U1") != role_session_name(two, "U1")


words = st.sampled_from(["access", "sessions", "revoke", "cancel", "audit", "help", "list", "all", "30m", "2h",
                         "15", "prod", "prod/ro", "S-7KQ2MX", "R-7KQ2MX", "user=", "page=2", "<@U1|a>", "minutes"])


@given(st.one_of(st.text(), st.lists(st.one_of(words, st.text(max_size=5)), max_size=6).map(" ".join)))
def test_parse_command_returns_a_command_or_invalid_input(text: str) -> None:
    try:
        parse_command(text)
    except InvalidInput as error:
        assert "/pam help" in error.user_message


@given(st.text())
def test_validate_name_returns_a_valid_name_or_invalid_input(value: str) -> None:
    try:
        name = validate_name("account", value)
    except InvalidInput:
        return
    assert 1 <= len(name) <= 32 and name == name.strip().lower()


@given(st.text(), st.integers(min_value=-5, max_value=200))
def test_truncate_never_exceeds_the_limit(s: str, limit: int) -> None:
    out = truncate(s, limit)
    assert len(out) <= max(limit, 0)
    assert out == s or out.endswith("…") or limit <= 0
