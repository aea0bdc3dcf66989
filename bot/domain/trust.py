"""Review of a Target Role's trust policy: it must require this installation's ExternalId for the Resource Role."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from bot.domain.arns import parse_role_arn


@dataclass(frozen=True)
class TrustReview:
    """`problem` (empty when fine) refuses the role; `warnings` are said but allowed."""

    problem: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem


def review_target_trust(document: Mapping[str, Any], *, target_role_arn: str, resource_role_arn: str,
                        external_id: str, expected: Mapping[str, Any]) -> TrustReview:
    """Every Allow statement that lets the Resource Role assume the role must require `external_id`;
    at least one must exist. A principal wider than the Resource Role (account root, `*`) is a warning."""
    resource = parse_role_arn(resource_role_arn)
    fix = json.dumps(expected["Statement"][0], indent=2)
    admitting = [(i, s) for i, s in enumerate(_statements(document), start=1)
                 if s.get("Effect") == "Allow" and _assumes(s) and _covers(s.get("Principal"), resource)]
    if not admitting:
        return TrustReview(f"The Target Role {target_role_arn} does not trust the Resource Role "
                           f"{resource.arn}. Add this statement to its trust policy:\n{fix}")
    warnings: list[str] = []
    for number, statement in admitting:
        label = f"statement {number}" + (f" ({statement['Sid']})" if statement.get("Sid") else "")
        if not _requires(statement.get("Condition"), external_id):
            return TrustReview(f"The Target Role {target_role_arn} lets the Resource Role {resource.arn} in "
                               f"without this installation's ExternalId ({label} of its trust policy). "
                               f"Replace that statement with:\n{fix}")
        if _covers(statement.get("Principal"), resource) == "wide":
            warnings.append(f"The trust policy of {target_role_arn} ({label}) trusts more than the Resource "
                            f"Role (the whole account or everyone); it requires the ExternalId, but naming "
                            f"{resource.arn} alone is safer.")
    return TrustReview(warnings=tuple(warnings))


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _list(document.get("Statement")) if isinstance(s, Mapping)]


def _assumes(statement: Mapping[str, Any]) -> bool:
    if "NotAction" in statement:
        return True  # NotAction admits everything it does not name: treat it as admitting AssumeRole
    return any(fnmatchcase("sts:assumerole", str(a).lower()) for a in _list(statement.get("Action")))


def _covers(principal: Any, resource: Any) -> str | None:
    """`exact` when the principal names the Resource Role, `wide` when it admits it more broadly, else None."""
    if principal == "*":
        return "wide"
    if not isinstance(principal, Mapping):
        return None
    found = None
    for value in (str(v) for v in _list(principal.get("AWS"))):
        if value == resource.arn:
            return "exact"
        if value in ("*", resource.account_id, f"arn:{resource.partition}:iam::{resource.account_id}:root"):
            found = "wide"
    return found


def _requires(conditions: Any, external_id: str) -> bool:
    if not isinstance(conditions, Mapping):
        return False
    for operator, tests in conditions.items():
        if operator != "StringEquals" or not isinstance(tests, Mapping):
            continue
        for key, value in tests.items():
            if str(key).lower() == "sts:externalid" and [str(v) for v in _list(value)] == [external_id]:
                return True
    return False


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
