"""Text helpers shared by messages: mrkdwn escaping, quoting, visibility, clipping, fuzzy ordering, plurals."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

ELLIPSIS = "…"
QUOTE_LIMIT = 60  # typed text echoed back longer than this is cut: the person knows what they typed
_INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Mc", "Me", "Cs"})
# Letters and symbols that draw nothing (Hangul fillers, the blank Braille pattern), favourites for blank text.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def storable(s: str) -> str:
    """`s` without NUL characters: PostgreSQL text cannot hold them, and no person means one."""
    return s.replace("\x00", "")


def escape_mrkdwn(s: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control (`&` first so entities stay intact)."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_slack(s: str) -> str:
    """Undo Slack's escaping of typed text once: `&amp;` `&lt;` `&gt;` only (`&amp;lt;` becomes `&lt;`)."""
    return _SLACK_ENTITY.sub(lambda m: _ENTITIES[m.group(1)], s)


def truncate(s: str, limit: int) -> str:
    """`s` cut to at most `limit` characters, ending in `…` when something was cut."""
    if len(s) <= limit:
        return s
    if limit <= 0:
        return ""
    return s[: limit - 1] + ELLIPSIS


def clip(s: str, limit: int) -> str:
    """`s` cut to at most `limit` characters with a marker saying how many were cut: `abc…[+297]`."""
    if len(s) <= limit:
        return s
    keep = limit
    while True:  # the marker takes room too: cut more until the marker's own count is right and it fits
        marker = f"{ELLIPSIS}[+{len(s) - keep}]"
        if keep + len(marker) <= limit:
            return s[:keep] + marker
        keep = limit - len(marker)
        if keep < 0:
            return s[:limit]


def has_visible_text(s: str) -> bool:
    """True when `s` shows something: not only spaces, line breaks, zero-width or format characters,
    control characters or combining marks with nothing to sit on."""
    return any(ch not in _BLANK and unicodedata.category(ch) not in _INVISIBLE for ch in s)


def quote(s: str, *, otherwise: str = "that", limit: int = QUOTE_LIMIT) -> str:
    """Typed text echoed back safely in mrkdwn: one line, cut to `limit`, backticks neutralised, escaped,
    in a code span; `otherwise` when it shows nothing at all."""
    if not has_visible_text(s):
        return otherwise
    one_line = _BREAKS.sub(" ", s).strip().replace("`", "ˋ")
    return f"`{escape_mrkdwn(truncate(one_line, limit))}`"


def closest(name: str, options: Iterable[str]) -> list[str]:
    """All `options`, the ones most similar to `name` first (case-insensitive; ties keep alphabetical order)."""
    wanted = name.lower()

    def distance(option: str) -> tuple[float, str]:
        return -difflib.SequenceMatcher(None, wanted, option.lower()).ratio(), option

    return sorted(options, key=distance)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 approval`, `2 approvals`; `many` for irregular plurals."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
