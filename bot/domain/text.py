"""Text helpers shared by messages: mrkdwn escaping, truncation, fuzzy ordering, plurals, safe quoting."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

ELLIPSIS = "…"
_QUOTABLE = re.compile(r"[A-Za-z0-9 _.:+=,@/-]{1,40}")


def escape_mrkdwn(s: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control (`&` first so entities stay intact)."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(s: str, limit: int) -> str:
    """`s` cut to at most `limit` characters, ending in `…` when something was cut."""
    if len(s) <= limit:
        return s
    if limit <= 0:
        return ""
    return s[: limit - 1] + ELLIPSIS


def closest(name: str, options: Iterable[str]) -> list[str]:
    """All `options`, the ones most similar to `name` first (case-insensitive; ties keep alphabetical order)."""
    wanted = name.lower()

    def distance(option: str) -> tuple[float, str]:
        return -difflib.SequenceMatcher(None, wanted, option.lower()).ratio(), option

    return sorted(options, key=distance)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 approval`, `2 approvals`; `many` for irregular plurals."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def quote(s: str, *, otherwise: str = "that") -> str:
    """Echo what someone typed as a code span only when it is short and harmless, else `otherwise`.

    Error messages are rendered as mrkdwn without escaping, so typed text with `<`, `>` or `&`
    (a fake link, `<!channel>`) or anything long never goes back into one.
    """
    return f"`{s}`" if _QUOTABLE.fullmatch(s) else otherwise
