"""The installation's ExternalId: validated when configured, generated when not."""

from __future__ import annotations

import re
import secrets

from bot.domain.errors import InvalidInput

_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
RULE = "An ExternalId is 2 to 1224 characters: letters, digits and _ + = , . @ : / -"


def validate_external_id(value: str) -> str:
    """The value without surrounding whitespace, when STS would accept it as an ExternalId."""
    value = value.strip()
    if not _EXTERNAL_ID.fullmatch(value):
        raise InvalidInput(f"{RULE}.", field="external_id", detail=f"bad external id of length {len(value)}")
    return value


def generate_external_id() -> str:
    """`pam-` and 32 random URL-safe characters (192 bits)."""
    return "pam-" + secrets.token_urlsafe(24)
