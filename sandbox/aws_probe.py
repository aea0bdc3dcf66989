"""Ask the AWS sandbox what it would answer to a call made with some issued credentials, without making it."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.aws_identity import find_caller
from sandbox.aws_policy import identity_decision


def would_deny(access_key_id: str, action: str = "iam:ListRoles", resource: str = "*",
               now: datetime | None = None) -> bool:
    """True when an explicit Deny in the caller's identity policies refuses `action` (revoked sessions),
    or when the key is unknown or expired; False when no Deny applies."""
    caller = find_caller(access_key_id)
    moment = now or datetime.now(UTC)
    if caller is None or caller.expired(moment):
        return True
    context = {"aws:userid": caller.user_id, "aws:principalarn": caller.role_arn or caller.arn,
               "aws:principalaccount": caller.account_id, "aws:currenttime": _iso(moment)}
    if caller.issued_at is not None:
        context["aws:tokenissuetime"] = _iso(caller.issued_at)
    return identity_decision(caller.policies, action, resource, context) == "deny"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
