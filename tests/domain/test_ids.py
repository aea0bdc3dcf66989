"""Public request and session references."""

from __future__ import annotations

import re

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.ids import ALPHABET, new_request_ref, new_session_ref, normalise_ref


def test_alphabet_has_nothing_to_confuse() -> None:
    assert not set("01IO") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 32


@pytest.mark.parametrize(("make", "prefix"), [(new_request_ref, "R"), (new_session_ref, "S")])
def test_new_refs(make, prefix: str) -> None:
    refs = {make() for _ in range(200)}
    assert len(refs) > 195
    for ref in refs:
        assert re.fullmatch(rf"{prefix}-[{ALPHABET}]{{6}}", ref)
        assert normalise_ref(ref, prefix) == ref


@pytest.mark.parametrize(("text", "prefix", "expected"), [
    ("R-7KQ2MX", "R", "R-7KQ2MX"), ("r-7kq2mx", "R", "R-7KQ2MX"), ("R7KQ2MX", "R", "R-7KQ2MX"),
    ("7kq2mx", "R", "R-7KQ2MX"), ("  `R-7KQ2MX` ", "R", "R-7KQ2MX"), ("s-abcdef", "S", "S-ABCDEF"),
    ("RABCDE", "R", "R-RABCDE"), ("S-ABCDEF", "S-", "S-ABCDEF"),
])
def test_normalise(text: str, prefix: str, expected: str) -> None:
    assert normalise_ref(text, prefix) == expected


@pytest.mark.parametrize(("text", "prefix", "says"), [
    ("", "R", "is not a request reference"),
    ("R-", "R", "is not a request reference"),
    ("R-7KQ2M", "R", "`R-7KQ2M` is not a request reference; they look like R-7KQ2MX"),
    ("R-7KQ2MXX", "R", "is not a request reference"),
    ("S-7KQ2MX", "R", "is not a request reference"),
    ("R-0OIL11", "R", "is not a request reference"),
    ("R--7KQ2MX", "R", "is not a request reference"),
    ("R-7KQ2MX", "S", "is not a session reference; they look like S-7KQ2MX"),
    ("<!here>", "S", "`&lt;!here&gt;` is not a session reference"),
    ("", "S", "That is not a session reference"),
])
def test_normalise_refuses(text: str, prefix: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_ref(text, prefix)
    assert says in caught.value.user_message
