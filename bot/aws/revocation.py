"""Revoke one role session: an inline Deny on the Target Role for that session name, issued before a moment.

AWS's own "revoke active sessions" denies every holder of a role. Matching `aws:userid` against
`*:<role session name>` cuts only the one person, and `aws:TokenIssueTime` lets them come back with
credentials granted later. Chained credentials live at most an hour, so a statement can go an hour after
its moment.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

POLICY_NAME = "pam-bot-revocations"
LIFETIME = timedelta(hours=1)
_SID_PREFIX = "PamBotRevoke"
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Document = dict[str, Any]


def revocation_statement(session_name: str, now: datetime) -> dict[str, Any]:
    """Deny everything to the session name's credentials issued before `now` (rounded up to the second)."""
    return {
        "Sid": _SID_PREFIX + hashlib.sha256(session_name.encode()).hexdigest()[:16],
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "StringLike": {"aws:userid": f"*:{session_name}"},
            "DateLessThan": {"aws:TokenIssueTime": _stamp(now)},
        },
    }


def with_revocation(document: Document | None, session_name: str, now: datetime) -> Document:
    """The policy with the session revoked; an existing statement for the name moves to the later moment."""
    new = revocation_statement(session_name, now)
    statements = [dict(s) for s in _statements(document)]
    for index, statement in enumerate(statements):
        if statement.get("Sid") == new["Sid"]:
            current, moment = issued_before(statement), issued_before(new)
            if current is None or (moment is not None and current < moment):
                statements[index] = new
            return _document(statements)
    return _document([*statements, new])


def without_stale(document: Document | None, now: datetime) -> tuple[Document | None, int]:
    """The policy without revocations older than an hour (None when nothing is left) and how many went."""
    statements = _statements(document)
    cutoff = _utc(now) - LIFETIME
    kept = [s for s in statements if not _stale(s, cutoff)]
    return (_document(kept) if kept else None), len(statements) - len(kept)


def issued_before(statement: dict[str, Any]) -> datetime | None:
    """The moment a revocation statement cuts at, or None when it is not one of ours."""
    if not str(statement.get("Sid", "")).startswith(_SID_PREFIX):
        return None
    stamp = statement.get("Condition", {}).get("DateLessThan", {}).get("aws:TokenIssueTime")
    return _parse(stamp) if isinstance(stamp, str) else None


def apply_revocation(iam: Any, role_name: str, session_name: str, now: datetime) -> None:
    """Read, merge and write the inline policy on the role."""
    document = with_revocation(read_policy(iam, role_name), session_name, now)
    iam.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document))


def prune(iam: Any, role_name: str, now: datetime) -> int:
    """Drop stale statements (deleting the policy once empty); return how many went."""
    current = read_policy(iam, role_name)
    if current is None:
        return 0
    document, removed = without_stale(current, now)
    if removed and document is None:
        iam.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    elif removed:
        iam.put_role_policy(RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(document))
    return removed


def read_policy(iam: Any, role_name: str) -> Document | None:
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return json.loads(document) if isinstance(document, str) else dict(document)


def _stale(statement: dict[str, Any], cutoff: datetime) -> bool:
    moment = issued_before(statement)
    return moment is not None and moment < cutoff


def _statements(document: Document | None) -> list[dict[str, Any]]:
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _document(statements: list[dict[str, Any]]) -> Document:
    return {"Version": "2012-10-17", "Statement": statements}


def _stamp(now: datetime) -> str:
    # Rounded up: a session granted earlier in the same second must still be covered.
    moment = _utc(now)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime(_FORMAT)


def _parse(stamp: str) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    except ValueError:
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
