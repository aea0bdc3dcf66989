"""IAM policy documents an admin attaches for pam-bot: Resource Role trust and permissions, Target Role trust."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain.arns import PARTITIONS, parse_role_arn
from bot.domain.errors import InvalidInput
from bot.domain.external_id import validate_external_id

VERSION = "2012-10-17"
REVOCATION_ACTIONS = ("iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy")
TARGET_PLACEHOLDER = "TARGET-ROLE-NAME"  # matches no role until the admin writes real names in
BOUNDARY_PLACEHOLDER = "PERMISSIONS-BOUNDARY-POLICY"
SELF_ACTIONS = ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
                "iam:UpdateAssumeRolePolicy")
BOUNDARY_ROLE_ACTIONS = ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
BOUNDARY_POLICY_ACTIONS = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion")
_ASSUMED_ROLE = re.compile(r"arn:(?P<partition>[a-z-]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+")
_IAM_PRINCIPAL = re.compile(r"arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):(?:root|user/.+|role/.+)")
_PATH = re.compile(r"/(?:[\w+=,.@-]+/)+", re.ASCII)
_POLICY_ARN = re.compile(r"arn:(?P<partition>[a-z-]+):iam::(?:\d{12}|aws):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}",
                         re.ASCII)
_POLICY_NAME = re.compile(r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}", re.ASCII)


@dataclass(frozen=True)
class TargetScope:
    """Which Target Roles a Resource Role may reach: exact ARNs and, when the admin chose one, a path."""

    roles: tuple[str, ...] = ()
    path: str | None = None

    @property
    def empty(self) -> bool:
        return not self.roles and self.path is None


def validate_target_path(path: str) -> str:
    """An IAM path such as `/pam/` (never `/`, which would mean every role of the account)."""
    path = path.strip()
    if not _PATH.fullmatch(path):
        raise InvalidInput("A target path looks like /pam/ or /pam/prod/ (IAM path characters, no *, not just /).",
                           detail="bad target path")
    return path


def boundary_arn(boundary: str, partition: str, account_id: str) -> str:
    """A permissions-boundary policy ARN; a bare name (or path/name) becomes a policy of that account."""
    boundary = boundary.strip()
    if boundary.startswith("arn:"):
        match = _POLICY_ARN.fullmatch(boundary)
        if match is None or match["partition"] != partition:
            raise InvalidInput(f"A permissions boundary is a managed policy ARN in the {partition} partition "
                               f"(arn:{partition}:iam::{account_id}:policy/NAME) or a policy name.",
                               detail="bad permissions boundary")
        return boundary
    if not _POLICY_NAME.fullmatch(boundary):
        raise InvalidInput("A permissions boundary is a managed policy name or ARN.", detail="bad boundary name")
    return f"arn:{partition}:iam::{account_id}:policy/{boundary}"


def trust_principal(caller_arn: str, role_path: str = "/") -> str:
    """The ARN a trust policy names for pam-bot's principal (a session ARN becomes its role's ARN).

    A session ARN does not carry its role's path: `role_path` (from iam:GetRole, or configured) puts it back.
    """
    session = _ASSUMED_ROLE.fullmatch(caller_arn)
    if session:
        path = role_path if role_path == "/" else validate_target_path(role_path)
        return f"arn:{session['partition']}:iam::{session['account']}:role{path}{session['role']}"
    if not _IAM_PRINCIPAL.fullmatch(caller_arn):
        raise InvalidInput("pam-bot's principal must be an IAM user, role or account root ARN.",
                           detail="bad principal arn")
    return caller_arn


def session_role_name(caller_arn: str) -> str | None:
    """The role name of an assumed-role session ARN (None for users and roots)."""
    session = _ASSUMED_ROLE.fullmatch(caller_arn)
    return session["role"] if session else None


def resource_role_trust_policy(bot_principal_arn: str, external_id: str, *, role_path: str = "/",
                               source_identity: bool = False) -> dict[str, Any]:
    """Trust pam-bot's principal, only with this installation's ExternalId (and let it set SourceIdentity)."""
    return _trust(trust_principal(bot_principal_arn, role_path), external_id, source_identity)


def target_role_trust_policy(resource_role_arn: str, external_id: str, *,
                             source_identity: bool = False) -> dict[str, Any]:
    """Trust the Resource Role, only with this installation's ExternalId (and let it set SourceIdentity)."""
    return _trust(parse_role_arn(resource_role_arn).arn, external_id, source_identity)


def target_resources(partition: str, account_id: str, scope: TargetScope) -> list[str]:
    """The ARNs a statement names for `scope`: exact roles, the path's roles, or a placeholder that matches none."""
    _check_account(partition, account_id)
    found = [parse_role_arn(arn).arn for arn in scope.roles]
    if scope.path is not None:
        found.append(f"arn:{partition}:iam::{account_id}:role{validate_target_path(scope.path)}*")
    return sorted(set(found)) or [f"arn:{partition}:iam::{account_id}:role/{TARGET_PLACEHOLDER}"]


def resource_role_permissions_policy(resource_role_arn: str, scope: TargetScope, *,
                                     revocation: TargetScope | None = None,
                                     permissions_boundary: str | None = None) -> dict[str, Any]:
    """What the Resource Role may do: assume and read the Target Roles in `scope`; opted in, write revocation
    policies on the roles in `revocation` that carry `permissions_boundary`; never change itself or a boundary."""
    own = parse_role_arn(resource_role_arn)
    targets = target_resources(own.partition, own.account_id, scope)
    statements: list[dict[str, Any]] = [
        {"Sid": "AssumeTargetRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": targets},
        {"Sid": "ReadTargetRoleTrust", "Effect": "Allow", "Action": "iam:GetRole", "Resource": targets}]
    boundary = boundary_arn(permissions_boundary or BOUNDARY_PLACEHOLDER, own.partition, own.account_id)
    if revocation is not None:
        revoked = target_resources(own.partition, own.account_id, revocation)
        statements += [
            {"Sid": "ReadAndClearRevocations", "Effect": "Allow",
             "Action": ["iam:GetRolePolicy", "iam:DeleteRolePolicy"], "Resource": revoked},
            {"Sid": "WriteRevocationsWithinBoundary", "Effect": "Allow", "Action": "iam:PutRolePolicy",
             "Resource": revoked, "Condition": {"ArnEquals": {"iam:PermissionsBoundary": boundary}}}]
    statements += [
        {"Sid": "NeverChangeItself", "Effect": "Deny",
         "Action": list(SELF_ACTIONS), "Resource": own.arn},
        {"Sid": "NeverChangeBoundaries", "Effect": "Deny", "Action": list(BOUNDARY_ROLE_ACTIONS), "Resource": "*"}]
    if revocation is not None:
        statements.append({"Sid": "NeverChangeTheBoundaryPolicy", "Effect": "Deny",
                           "Action": list(BOUNDARY_POLICY_ACTIONS), "Resource": boundary})
    return {"Version": VERSION, "Statement": statements}


def _check_account(partition: str, account_id: str) -> None:
    if partition not in PARTITIONS or not re.fullmatch(r"\d{12}", account_id):
        raise InvalidInput("Expected an AWS partition (aws, aws-us-gov, aws-cn) and a 12-digit account id.",
                           detail="bad partition or account")


def _trust(principal: str, external_id: str, source_identity: bool = False) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        # sts:SetSourceIdentity: both hops name the person as SourceIdentity, which then survives any role
        # they assume from the console.
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"] if source_identity else "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": validate_external_id(external_id)}},
    }]}
