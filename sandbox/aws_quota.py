"""IAM checks moto skips on role policies and SourceIdentity: the inline-policy quota and sts:SetSourceIdentity."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.aws_identity import Caller, role_named
from sandbox.aws_records import Refusal

ROLE_POLICY_QUOTA = 10_240  # characters of all inline policies of one role together, whitespace not counted
_WHITESPACE = re.compile(r"\s")
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)

TrustCheck = Callable[[str], str]  # action -> trust decision, as aws_policy.trust_decision answers


def check_role_policy_quota(params: Mapping[str, str], caller: Caller) -> None:
    """PutRolePolicy: LimitExceeded (409) when the role's inline policies would pass the quota."""
    name = params.get("RoleName", "")
    role = role_named(caller.account_id, caller.partition, name)
    if role is None:
        return
    texts: dict[str, Any] = dict(role.policies)
    texts[params.get("PolicyName", "")] = params.get("PolicyDocument", "")
    if sum(inline_size(text) for text in texts.values()) > ROLE_POLICY_QUOTA:
        raise Refusal(409, "LimitExceeded", f"Maximum policy size of {ROLE_POLICY_QUOTA} bytes exceeded for "
                                            f"role {name}")


def inline_size(text: str | dict[str, Any]) -> int:
    """What IAM counts: the policy text without whitespace."""
    return len(_WHITESPACE.sub("", text if isinstance(text, str) else json.dumps(text)))


def check_source_identity(params: Mapping[str, str], caller: Caller, trust: TrustCheck) -> None:
    """AssumeRole with SourceIdentity: a valid value, and the role's trust policy allows sts:SetSourceIdentity."""
    if "SourceIdentity" not in params:
        return
    value = params["SourceIdentity"]
    if not _SOURCE_IDENTITY.fullmatch(value):
        raise Refusal(400, "ValidationError", f"1 validation error detected: Value '{value}' at 'sourceIdentity' "
                                              r"failed to satisfy constraint: Member must satisfy regular "
                                              r"expression pattern: [\w+=,.@-]* and have length between 2 and 64")
    if trust("sts:SetSourceIdentity") in ("deny", "none"):
        raise Refusal(403, "AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                           f"sts:SetSourceIdentity on resource: {params.get('RoleArn', '')}")
