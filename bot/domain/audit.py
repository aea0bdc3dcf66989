"""Audit events: the chain (plain SHA-256 or keyed HMAC-SHA256) that makes tampering with the trail visible."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
PLAIN, KEYED = "sha256", "hmac-sha256"  # how an event's (or checkpoint's) hash was made
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class AuditEntry:
    """What one audit event says; storage adds the id and the chain."""

    actor: str
    action: str
    target: str = ""
    outcome: str = "ok"  # ok | refused | failed
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditKey:
    """PAM_AUDIT_KEY: the secret that MACs the chain; kept outside the database, never shown."""

    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, text: str | None) -> AuditKey | None:
        return cls(text.encode()) if text else None

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def scheme_of(key: AuditKey | None) -> str:
    return KEYED if key is not None else PLAIN


def _digest(data: dict[str, Any], key: AuditKey | None) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return key.mac(canonical) if key is not None else hashlib.sha256(canonical).hexdigest()


def chain_hash(prev_hash: str, at: datetime, entry: AuditEntry, key: AuditKey | None = None) -> str:
    """SHA-256 (or, with `key`, HMAC-SHA256) over the previous hash and a canonical form of the event."""
    return _digest({"prev": prev_hash, "at": at.isoformat(timespec="microseconds"), "actor": entry.actor,
                    "action": entry.action, "target": entry.target, "outcome": entry.outcome,
                    "details": entry.details}, key)


@dataclass(frozen=True)
class Checkpoint:
    """A signed note of the chain's head: with it, events cut off the end of the chain no longer go unseen."""

    head_id: int
    head_hash: str
    count: int  # events with an id up to head_id
    at: datetime
    scheme: str = PLAIN
    mac: str = ""

    def expected_mac(self, key: AuditKey | None) -> str:
        return _digest({"checkpoint": 1, "head_id": self.head_id, "head_hash": self.head_hash,
                        "count": self.count, "at": self.at.isoformat(timespec="microseconds")}, key)

    def signed(self, key: AuditKey | None) -> Checkpoint:
        return Checkpoint(self.head_id, self.head_hash, self.count, self.at, scheme_of(key), self.expected_mac(key))

    def problem(self, key: AuditKey | None) -> str | None:
        """Why this checkpoint cannot be trusted with `key`, or None."""
        if self.scheme == KEYED and key is None:
            return "the latest checkpoint is keyed and PAM_AUDIT_KEY is not set: it cannot be checked"
        if self.scheme not in (PLAIN, KEYED):
            return f"the latest checkpoint names an unknown scheme {self.scheme!r}"
        if not hmac.compare_digest(self.mac, self.expected_mac(key if self.scheme == KEYED else None)):
            return ("the latest checkpoint's signature does not match: it was forged, or PAM_AUDIT_KEY is not "
                    "the key that signed it")
        return None


@dataclass(frozen=True)
class Link:
    """One stored event as the chain sees it."""

    id: int
    prev_hash: str
    hash: str
    at: datetime
    scheme: str
    entry: AuditEntry
