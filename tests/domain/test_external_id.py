"""ExternalId rules and generation."""

from __future__ import annotations

import re

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.external_id import generate_external_id, validate_external_id


@pytest.mark.parametrize("value", ["ab", "pam-123", "a:b/c=d,e.f@g+h_i-j", "x" * 1224])
def test_accepts(value: str) -> None:
    assert validate_external_id(value) == value


def test_strips_surrounding_whitespace() -> None:
    assert validate_external_id("  pam-abc\n") == "pam-abc"


@pytest.mark.parametrize("value", ["", "a", "x" * 1225, "has space", "semi;colon", "é-id", "a\tb", "<x>"])
def test_refuses_with_the_rule(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_external_id(value)
    assert caught.value.field == "external_id"
    assert "2 to 1224 characters" in caught.value.user_message


def test_generated_ids_are_valid_and_different() -> None:
    values = {generate_external_id() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert re.fullmatch(r"pam-[A-Za-z0-9_-]{32}", value)
        assert validate_external_id(value) == value
