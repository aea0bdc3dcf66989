"""A small IAM policy evaluator: trust policies, identity policies and the conditions pam-bot relies on.

Supported: Allow/Deny statements with Action, Resource and Principal (`*`, exact ARNs, `arn:...:root` or a
bare account id) and conditions StringEquals, StringNotEquals, StringLike, ArnEquals, ArnLike, DateLessThan
and DateGreaterThan.
Statements using NotAction, NotResource, NotPrincipal or any other condition never match: the sandbox
grants less than AWS rather than more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from sandbox.aws_identity import Caller

Context = Mapping[str, str]  # condition keys, lower-case: sts:externalid, aws:userid, aws:tokenissuetime...
_UNSUPPORTED = ("NotAction", "NotResource", "NotPrincipal")


def trust_decision(document: Mapping[str, Any], caller: Caller, context: Context,
                   action: str = "sts:AssumeRole") -> str:
    """`deny`, `named` (the principal is named exactly), `account` (through `*` or the account) or `none`."""
    named = account = False
    for statement in _statements(document):
        match = _principal_match(statement.get("Principal"), caller)
        if not match or not _applies(statement, action, None, context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        named, account = named or match == "named", account or match == "account"
    return "named" if named else "account" if account else "none"


def identity_decision(documents: tuple[Mapping[str, Any], ...], action: str, resource: str,
                      context: Context) -> str:
    """`deny` (an explicit Deny matches), `allow` or `implicit` (nothing allows it)."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, action, resource, context):
                continue
            if statement.get("Effect") == "Deny":
                return "deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "allow" if allowed else "implicit"


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [s for s in _list(statements) if isinstance(s, Mapping) and not any(k in s for k in _UNSUPPORTED)]


def _applies(statement: Mapping[str, Any], action: str, resource: str | None, context: Context) -> bool:
    if not any(fnmatchcase(action.lower(), str(pattern).lower()) for pattern in _list(statement.get("Action"))):
        return False
    if resource is not None and not any(fnmatchcase(resource, str(p)) for p in _list(statement.get("Resource"))):
        return False
    return _conditions_hold(statement.get("Condition") or {}, context)


def _principal_match(principal: Any, caller: Caller) -> str | None:
    if principal == "*":
        return "account"
    if not isinstance(principal, Mapping):
        return None
    found: str | None = None
    for value in (str(v) for v in _list(principal.get("AWS"))):
        if value in (caller.arn, caller.role_arn):
            return "named"
        if value in ("*", caller.account_id, f"arn:{caller.partition}:iam::{caller.account_id}:root"):
            found = "account"
    return found


def _conditions_hold(conditions: Mapping[str, Any], context: Context) -> bool:
    for operator, tests in conditions.items():
        if not isinstance(tests, Mapping):
            return False
        for key, expected in tests.items():
            actual = context.get(str(key).lower())
            if actual is None or not _compare(operator, actual, [str(e) for e in _list(expected)]):
                return False
    return True


def _compare(operator: str, actual: str, expected: list[str]) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator == "StringNotEquals":
        return actual not in expected
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatchcase(actual, pattern) for pattern in expected)
    if operator in ("DateLessThan", "DateGreaterThan"):
        moment = _date(actual)
        limits = [_date(e) for e in expected]
        if moment is None or None in limits:
            return False
        less = operator == "DateLessThan"
        return any((moment < limit) if less else (moment > limit) for limit in limits if limit is not None)
    return False


def _date(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
