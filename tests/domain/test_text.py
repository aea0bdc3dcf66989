"""Text helpers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import clip, closest, escape_mrkdwn, has_visible_text, plural, quote, truncate, unescape_slack


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
    ("2h", "`2h`"), ("prod-aws/readonly", "`prod-aws/readonly`"), ("<!channel>", "`&lt;!channel&gt;`"),
    ("a&b", "`a&amp;b`"), ("&amp;", "`&amp;amp;`"), ("<https://evil|click>", "`&lt;https://evil|click&gt;`"),
    ("x" * 60, "`" + "x" * 60 + "`"), ("x" * 61, "`" + "x" * 59 + "…`"), ("", "that"), ("\u200b \n", "that"),
    ("a`b", "`aˋb`"), ("```", "`ˋˋˋ`"), ("two\nlines\r\u2028here", "`two lines here`"), ("*bold*", "`*bold*`"),
])
def test_quote(s: str, expected: str) -> None:
    assert quote(s) == expected


def test_quote_says_otherwise_for_nothing_visible() -> None:
    assert quote("\u200b", otherwise="That") == "That"
    assert quote("x" * 100, limit=10) == "`xxxxxxxxx…`"


@pytest.mark.parametrize(("raw", "typed"), [
    ("R&amp;D", "R&D"), ("&lt;b&gt;", "<b>"), ("&amp;lt;", "&lt;"), ("&amp;amp;", "&amp;"), ("&quot;&#39;", "&quot;&#39;"),
    ("a & b", "a & b"), ("<@U1|al>", "<@U1|al>"), ("", ""),
])
def test_unescape_slack_undoes_slacks_three_entities_once(raw: str, typed: str) -> None:
    assert unescape_slack(raw) == typed
    assert unescape_slack(escape_mrkdwn(typed)) == typed


@pytest.mark.parametrize(("s", "limit", "expected"), [
    ("abc", 3, "abc"), ("a" * 300, 256, "a" * 250 + "…[+50]"), ("a" * 300, 64, "a" * 57 + "…[+243]"),
    ("a" * 20, 16, "a" * 11 + "…[+9]"), ("a" * 1005, 1000, "a" * 994 + "…[+11]"), ("a" * 10, 3, "aaa"),
    ("a" * 15, 10, "aaaa…[+11]"),
])
def test_clip_marks_how_much_was_cut(s: str, limit: int, expected: str) -> None:
    assert clip(s, limit) == expected
    assert len(clip(s, limit)) <= limit


@given(st.text(max_size=400), st.integers(min_value=0, max_value=300))
def test_clip_always_fits_and_says_the_truth(s: str, limit: int) -> None:
    cut = clip(s, limit)
    assert len(cut) <= limit or (len(s) <= limit and cut == s)
    marker = re.search(r"…\[\+(\d+)\]$", cut)
    if marker and cut != s:
        assert cut[: marker.start()] + s[marker.start():] == s and int(marker.group(1)) == len(s) - marker.start()


@pytest.mark.parametrize(("s", "visible"), [
    ("x", True), ("  ok ", True), ("ok\u200b", True), ("é", True), ("漢", True), ("🔥", True), ("-", True),
    ("", False), ("   ", False), ("\t\n\r", False), ("\u200b", False), ("\u200b\u200c\u200d\u2060\ufeff", False),
    ("\u00ad", False), ("\u3000\u00a0\u2028\u2029", False), ("\u0301\u0308", False), ("\u202e\u2066", False),
    ("\x00\x7f", False), ("\u3164\u115f\u1160\uffa0\u2800", False), ("\U000e0041", False),
])
def test_has_visible_text(s: str, visible: bool) -> None:
    assert has_visible_text(s) is visible
