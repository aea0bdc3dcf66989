"""Text helpers."""

from __future__ import annotations

import pytest

from bot.domain.text import closest, escape_mrkdwn, plural, quote, truncate


@pytest.mark.parametrize(("raw", "escaped"), [
    ("plain", "plain"), ("a & b", "a &amp; b"), ("<!channel>", "&lt;!channel&gt;"),
    ("&lt;", "&amp;lt;"), ("<https://evil|click>", "&lt;https://evil|click&gt;"), ("", ""),
])
def test_escape_mrkdwn(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


@pytest.mark.parametrize(("s", "limit", "expected"), [
    ("hello", 10, "hello"), ("hello", 5, "hello"), ("hello", 4, "hel…"), ("hello", 1, "…"), ("hello", 0, ""),
    ("hello", -3, ""), ("", 0, ""),
])
def test_truncate(s: str, limit: int, expected: str) -> None:
    assert truncate(s, limit) == expected
    assert len(truncate(s, limit)) <= max(limit, 0)


def test_closest_orders_all_options_closest_first() -> None:
    options = ["staging-aws/admin", "prod-aws/readonly", "prod-aws/admin", "dev/readonly"]
    ordered = closest("prod-aws/readonyl", options)
    assert ordered[0] == "prod-aws/readonly"
    assert sorted(ordered) == sorted(options)
    assert closest("PROD-AWS/ADMIN", options)[0] == "prod-aws/admin"
    assert closest("x", []) == []


@pytest.mark.parametrize(("n", "word", "expected"), [
    (0, "approval", "0 approvals"), (1, "approval", "1 approval"), (2, "approval", "2 approvals"),
])
def test_plural(n: int, word: str, expected: str) -> None:
    assert plural(n, word) == expected


def test_plural_irregular() -> None:
    assert plural(2, "person", "people") == "2 people"
    assert plural(1, "person", "people") == "1 person"


@pytest.mark.parametrize(("s", "expected"), [
    ("2h", "`2h`"), ("prod-aws/readonly", "`prod-aws/readonly`"), ("<!channel>", "that"), ("a&b", "that"),
    ("x" * 41, "that"), ("", "that"), ("a`b", "that"),
])
def test_quote(s: str, expected: str) -> None:
    assert quote(s) == expected
