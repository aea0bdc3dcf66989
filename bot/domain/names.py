"""Names: the role session name and SourceIdentity CloudTrail shows for a person, and resource/account names."""

from __future__ import annotations

import hashlib
import re

from bot.domain.errors import InvalidInput

SESSION_NAME_MAX = 64
HASH_CHARS = 10  # 40 bits of sha256: enough that two people never share a shortened name
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_NOT_SESSION_CHAR = re.compile(r"[^\w+=,.@-]", re.ASCII)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def role_session_name(email: str | None, user_id: str, *, limit: int = SESSION_NAME_MAX) -> str:
    """RoleSessionName/SourceIdentity for a person: their email made valid, else `slack-<user id>`.

    Two different inputs never give the same name: when a character had to be replaced or the name had
    to be shortened to `limit`, a hash of the full original is appended.
    """
    email = (email or "").strip()
    if email and len(_NOT_SESSION_CHAR.sub("", email)) >= 2:
        return _fit(email, limit)
    return _fit(f"slack-{user_id.strip()}", limit)


def grant_session_name(email: str | None, user_id: str, session_ref: str) -> str:
    """The role session name of one grant: the person, then `+<session ref>` (`alice@example.com+S-ABC123`).

    Unique to the grant, so a deny naming it cuts that session only; the person part is shortened (with a
    hash) to leave the suffix intact within STS's 64 characters.
    """
    suffix = "+" + _NOT_SESSION_CHAR.sub("-", session_ref.strip())
    if not 2 <= len(suffix) <= SESSION_NAME_MAX // 2:
        raise ValueError(f"not a session reference: {session_ref!r}")
    return role_session_name(email, user_id, limit=SESSION_NAME_MAX - len(suffix)) + suffix


def is_valid_session_name(s: str) -> bool:
    """2..64 characters of `[A-Za-z0-9_+=,.@-]`, as STS requires."""
    return bool(_SESSION_NAME.fullmatch(s))


def _fit(original: str, limit: int) -> str:
    cleaned = _NOT_SESSION_CHAR.sub("-", original)
    if cleaned == original and len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{cleaned[: limit - HASH_CHARS - 1]}-{digest}"


def validate_name(kind: str, value: str) -> str:
    """A resource or account name, trimmed and lower-cased: 1..32 of `a-z 0-9 - _`, starting with a letter or digit."""
    name = value.strip().lower()
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{kind.capitalize()} names are 1 to 32 characters: lowercase letters, digits, - and _, "
            f"starting with a letter or digit (for example prod-aws or readonly).",
            field=kind, detail=f"bad {kind} name")
    return name
