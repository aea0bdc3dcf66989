"""IAM policy documents an admin attaches for pam-bot: Resource Role trust and permissions, Target Role trust."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.arns import PARTITIONS, parse_role_arn
from bot.domain.errors import InvalidInput
from bot.domain.external_id import validate_external_id

VERSION = "2012-10-17"
REVOCATION_ACTIONS = ("iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy")
_ASSUMED_ROLE = re.compile(r"arn:(?P<partition>[a-z-]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+")
_IAM_PRINCIPAL = re.compile(r"arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):(?:root|user/.+|role/.+)")
_ROLE_PATTERN = re.compile(r"[\w+=,.@*/-]{1,512}", re.ASCII)


def trust_principal(caller_arn: str) -> str:
    """The ARN a trust policy names for pam-bot's principal (a session ARN becomes its role's ARN).

    A role path is not part of a session ARN: a role with a path must be named with its full ARN instead.
    """
    session = _ASSUMED_ROLE.fullmatch(caller_arn)
    if session:
        return f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
    if not _IAM_PRINCIPAL.fullmatch(caller_arn):
        raise InvalidInput("pam-bot's principal must be an IAM user, role or account root ARN.",
                           detail="bad principal arn")
    return caller_arn


def resource_role_trust_policy(bot_principal_arn: str, external_id: str, *,
                               source_identity: bool = False) -> dict[str, Any]:
    """Trust pam-bot's principal, only with this installation's ExternalId (and let it set SourceIdentity)."""
    return _trust(trust_principal(bot_principal_arn), external_id, source_identity)


def target_role_trust_policy(resource_role_arn: str, external_id: str, *,
                             source_identity: bool = False) -> dict[str, Any]:
    """Trust the Resource Role, only with this installation's ExternalId (and let it set SourceIdentity)."""
    return _trust(parse_role_arn(resource_role_arn).arn, external_id, source_identity)


def resource_role_permissions_policy(partition: str, account_id: str, *, role_pattern: str = "*",
                                     allow_revocation: bool = False) -> dict[str, Any]:
    """Let the Resource Role assume the account's Target Roles (and, opted in, write revocation policies)."""
    if partition not in PARTITIONS or not re.fullmatch(r"\d{12}", account_id):
        raise InvalidInput("Expected an AWS partition (aws, aws-us-gov, aws-cn) and a 12-digit account id.",
                           detail="bad partition or account")
    if not _ROLE_PATTERN.fullmatch(role_pattern):
        raise InvalidInput("A role pattern is a role name or path that may contain * (for example pam-*).",
                           detail="bad role pattern")
    roles = f"arn:{partition}:iam::{account_id}:role/{role_pattern}"
    statements: list[dict[str, Any]] = [
        {"Sid": "AssumeTargetRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles}]
    if allow_revocation:
        statements.append({"Sid": "RevokeSessions", "Effect": "Allow", "Action": list(REVOCATION_ACTIONS),
                           "Resource": roles})
    return {"Version": VERSION, "Statement": statements}


def _trust(principal: str, external_id: str, source_identity: bool = False) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        # sts:SetSourceIdentity: both hops name the person as SourceIdentity, which then survives any role
        # they assume from the console.
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"] if source_identity else "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": validate_external_id(external_id)}},
    }]}
