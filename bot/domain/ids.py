"""Short public references people can read aloud and type: `R-7KQ2MX` for requests, `S-…` for sessions."""

from __future__ import annotations

import re
import secrets

from bot.domain.errors import InvalidInput
from bot.domain.text import quote

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: nothing to confuse when read aloud
REF_CHARS = 6
_KINDS = {"R": "request", "S": "session"}


def new_request_ref() -> str:
    return _new("R")


def new_session_ref() -> str:
    return _new("S")


def _new(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(REF_CHARS))


def normalise_ref(text: str, prefix: str) -> str:
    """`r-7kq2mx`, `R7KQ2MX` or `7kq2mx` → `R-7KQ2MX`; InvalidInput when it cannot be a reference."""
    prefix = prefix.strip().rstrip("-").upper()
    word = text.strip().strip("`").upper()
    match = re.fullmatch(rf"(?:{re.escape(prefix)}-?)?([{ALPHABET}]{{{REF_CHARS}}})", word)
    if match is None:
        kind = _KINDS.get(prefix, "")
        said = quote(text.strip(), otherwise="That")
        raise InvalidInput(f"{said} is not a {kind + ' ' if kind else ''}reference; they look like {prefix}-7KQ2MX.",
                           field="ref", detail=f"bad {kind or prefix} ref")
    return f"{prefix}-{match.group(1)}"
