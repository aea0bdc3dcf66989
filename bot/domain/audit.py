"""Audit events: the hash chain that makes tampering with the trail visible."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """What one audit event says; storage adds the id and the chain."""

    actor: str
    action: str
    target: str = ""
    outcome: str = "ok"  # ok | refused | failed
    details: dict[str, Any] = field(default_factory=dict)


def chain_hash(prev_hash: str, at: datetime, entry: AuditEntry) -> str:
    """SHA-256 over the previous hash and a canonical form of the event."""
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome,
            "details": entry.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_broken(events: list[tuple[int, str, str, datetime, AuditEntry]], start_hash: str = GENESIS) -> int | None:
    """Id of the first event whose (id, prev_hash, hash, at, entry) does not follow the chain, else None."""
    expected_prev = start_hash
    for event_id, prev_hash, stored_hash, at, entry in events:
        if prev_hash != expected_prev or chain_hash(prev_hash, at, entry) != stored_hash:
            return event_id
        expected_prev = stored_hash
    return None
