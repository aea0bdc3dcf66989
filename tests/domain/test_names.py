"""Role session names and resource/account names."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.names import (
    SESSION_NAME_MAX,
    grant_session_name,
    is_valid_session_name,
    role_session_name,
    validate_name,
)


@pytest.mark.parametrize(("email", "user_id", "expected"), [
    ("alice@example.com", "U1", "alice@example.com"),
    ("a.b+tag=x,y@ex-ample.co.uk", "U1", "a.b+tag=x,y@ex-ample.co.uk"),
    ("  alice@example.com \n", "U1", "alice@example.com"),
    (None, "U123", "slack-U123"),
    ("", "U123", "slack-U123"),
    ("   ", "U123", "slack-U123"),
    ("a", "U123", "slack-U123"),
    ("éé", "U123", "slack-U123"),
    ("é!", "W9", "slack-W9"),
])
def test_plain_cases(email: str | None, user_id: str, expected: str) -> None:
    assert role_session_name(email, user_id) == expected


def test_replaced_characters_are_dashes_and_a_hash_keeps_names_apart() -> None:
    one = role_session_name("jöe@example.com", "U1")
    two = role_session_name("jäe@example.com", "U2")
    assert one.startswith("j-e@example.com-") and two.startswith("j-e@example.com-")
    assert one != two
    assert is_valid_session_name(one) and is_valid_session_name(two)


def test_long_emails_sharing_a_prefix_never_collide() -> None:
    prefix = "a" * 70
    one = role_session_name(f"{prefix}1@example.com", "U1")
    two = role_session_name(f"{prefix}2@example.com", "U2")
    assert one != two
    for name in (one, two):
        assert len(name) == SESSION_NAME_MAX
        assert name.startswith("a" * 53 + "-")
        assert is_valid_session_name(name)


def test_names_are_stable() -> None:
    email = "x" * 80 + "@example.com"
    assert role_session_name(email, "U1") == role_session_name(email, "U2")


def test_exactly_64_characters_is_kept_as_is() -> None:
    email = "b" * 52 + "@example.com"
    assert len(email) == 64
    assert role_session_name(email, "U1") == email


def test_a_strange_user_id_still_gives_a_valid_name() -> None:
    assert is_valid_session_name(role_session_name(None, "U 1/" + "9" * 100))
    assert is_valid_session_name(role_session_name(None, ""))


@pytest.mark.parametrize(("name", "valid"), [
    ("ab", True), ("a" * 64, True), ("A_z0+=,.@-", True),
    ("a", False), ("", False), ("a" * 65, False), ("a b", False), ("é1", False), ("a/b", False),
    ("ab\n", False), ("a:b", False),
])
def test_is_valid_session_name(name: str, valid: bool) -> None:
    assert is_valid_session_name(name) is valid


@pytest.mark.parametrize(("value", "expected"), [
    ("prod-aws", "prod-aws"), (" Prod-AWS ", "prod-aws"), ("readonly", "readonly"), ("a", "a"),
    ("0admin", "0admin"), ("db_admin", "db_admin"), ("x" * 32, "x" * 32),
])
def test_validate_name_accepts_and_normalises(value: str, expected: str) -> None:
    assert validate_name("account", value) == expected


@pytest.mark.parametrize("value", ["", "   ", "-prod", "_prod", "prod aws", "prod/aws", "x" * 33, "prød",
                                   "prod.aws", "pro\nd"])
def test_validate_name_refuses(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_name("resource", value)
    assert caught.value.field == "resource"
    assert caught.value.user_message.startswith("Resource names are 1 to 32 characters")


@pytest.mark.parametrize("email", ["alice@example.com", "b" * 52 + "@example.com", "jöe@example.com", None,
                                   "x" * 200 + "@example.com", "a"])
def test_a_grant_name_is_the_person_plus_the_session_ref_and_always_valid(email: str | None) -> None:
    name = grant_session_name(email, "U123", "S-ABC234")
    assert name.endswith("+S-ABC234") and is_valid_session_name(name)
    assert name[: -len("+S-ABC234")] == role_session_name(email, "U123", limit=SESSION_NAME_MAX - 9)


def test_two_grants_of_one_person_get_different_names_and_keep_the_email() -> None:
    one = grant_session_name("alice@example.com", "U1", "S-ABC234")
    two = grant_session_name("alice@example.com", "U1", "S-XYZ789")
    assert (one, two) == ("alice@example.com+S-ABC234", "alice@example.com+S-XYZ789")


def test_long_emails_are_shortened_with_a_hash_and_the_suffix_stays_intact() -> None:
    prefix = "a" * 70
    one = grant_session_name(f"{prefix}1@example.com", "U1", "S-ABC234")
    two = grant_session_name(f"{prefix}2@example.com", "U2", "S-ABC234")
    assert one != two and len(one) == len(two) == SESSION_NAME_MAX
    assert one.startswith("a" * 44 + "-") and one.endswith("+S-ABC234")
    fits = "c" * 43 + "@example.com"  # 55 characters: exactly what is left next to the suffix
    assert grant_session_name(fits, "U1", "S-ABC234") == fits + "+S-ABC234"
