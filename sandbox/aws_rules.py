"""The checks AWS makes and moto skips: credentials, trust policies, ExternalId, durations, explicit denies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.aws_identity import Caller, find_role, role_named
from sandbox.aws_policy import Context, identity_decision, trust_decision
from sandbox.aws_quota import check_role_policy_quota, check_source_identity
from sandbox.aws_records import Refusal

CHAIN_LIMIT = 3600  # role chaining caps a session at one hour
MIN_DURATION, MAX_DURATION = 900, 43200
GUARDED_IAM_ACTIONS = frozenset({
    "GetRole", "GetRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "ListRolePolicies", "AttachRolePolicy",
    "DetachRolePolicy", "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
    "CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion"})
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


@dataclass(frozen=True)
class Request:
    """The parts of a signed STS/IAM request the checks need."""

    service: str
    action: str
    access_key_id: str
    session_token: str | None
    params: Mapping[str, str]


def check(request: Request, caller: Caller | None, now: datetime) -> None:
    """Raise a Refusal when AWS would refuse the request; return when moto may answer it."""
    if caller is None:
        if request.action == "AssumeRole":
            raise _invalid_token()
        return
    _check_credentials(caller, request, now)
    if request.service == "sts" and request.action == "GetCallerIdentity":
        return  # AWS answers GetCallerIdentity whatever the policies say
    context = _context(caller, request, now)
    if request.service == "sts" and request.action == "AssumeRole":
        _check_assume_role(request.params, caller, context)
        return
    action, resource = f"{request.service}:{request.action}", _resource(request, caller)
    context.update(_boundary_context(request, caller))
    decision = identity_decision(caller.policies, action, resource, context)
    # IAM calls on roles and policies need an Allow (as in AWS); other reads stay open in the sandbox.
    if decision == "deny" or (request.service == "iam" and request.action in GUARDED_IAM_ACTIONS
                              and decision != "allow"):
        raise _denied(caller, action, resource, explicit=decision == "deny")
    if request.service == "iam" and request.action == "PutRolePolicy":
        check_role_policy_quota(request.params, caller)


def _check_credentials(caller: Caller, request: Request, now: datetime) -> None:
    if not caller.active or not caller.token_matches(request.session_token):
        raise _invalid_token()
    if caller.expired(now):
        raise Refusal(403, "ExpiredToken", "The security token included in the request is expired")


def _check_assume_role(params: Mapping[str, str], caller: Caller, context: Context) -> None:
    duration = _validate_assume_role(params)
    role_arn = params.get("RoleArn", "")
    role = find_role(role_arn)
    if role is None:
        raise _denied(caller, "sts:AssumeRole", role_arn)
    identity = identity_decision(caller.policies, "sts:AssumeRole", role_arn, context)
    trust = trust_decision(_document(role.assume_role_policy_document), caller, context)
    # Stricter than AWS in one place: a role session always needs an identity policy allowing the call.
    needs_identity = trust == "account" or caller.kind == "session" or caller.account_id != role.account_id
    if identity == "deny" or trust in ("deny", "none") or (needs_identity and identity != "allow"):
        raise _denied(caller, "sts:AssumeRole", role_arn, explicit=identity == "deny")
    document = _document(role.assume_role_policy_document)
    check_source_identity(params, caller, lambda action: trust_decision(document, caller, context, action))
    if caller.kind == "session" and duration > CHAIN_LIMIT:
        raise _invalid("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
                       "role chaining.")
    if duration > int(role.max_session_duration or CHAIN_LIMIT):
        raise _invalid("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")


def _validate_assume_role(params: Mapping[str, str]) -> int:
    name = params.get("RoleSessionName", "")
    if not _SESSION_NAME.fullmatch(name):
        raise _invalid(f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy "
                       r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]* and have "
                       "length between 2 and 64")
    external_id = params.get("ExternalId")
    if external_id is not None and not _EXTERNAL_ID.fullmatch(external_id):
        raise _invalid("1 validation error detected: Value at 'externalId' failed to satisfy constraint: "
                       r"Member must satisfy regular expression pattern: [\w+=,.@:\/-]* and have length "
                       "between 2 and 1224")
    raw = params.get("DurationSeconds", str(CHAIN_LIMIT))
    if not raw.isdigit() or not MIN_DURATION <= int(raw) <= MAX_DURATION:
        raise _invalid(f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy "
                       f"constraint: Member must have value between {MIN_DURATION} and {MAX_DURATION}")
    return int(raw)


def _context(caller: Caller, request: Request, now: datetime) -> dict[str, str]:
    context = {"aws:userid": caller.user_id, "aws:principalarn": caller.role_arn or caller.arn,
               "aws:principalaccount": caller.account_id, "aws:currenttime": _iso(now)}
    if caller.issued_at is not None:
        context["aws:tokenissuetime"] = _iso(caller.issued_at)
    for key, name in (("sts:externalid", "ExternalId"), ("sts:rolesessionname", "RoleSessionName")):
        if name in request.params:
            context[key] = request.params[name]
    return context


def _boundary_context(request: Request, caller: Caller) -> dict[str, str]:
    """iam:PermissionsBoundary: the boundary a call sets, or the one the role it names carries now."""
    if request.service != "iam":
        return {}
    if request.params.get("PermissionsBoundary"):
        return {"iam:permissionsboundary": request.params["PermissionsBoundary"]}
    name = request.params.get("RoleName")
    role = role_named(caller.account_id, caller.partition, name) if name else None
    boundary = getattr(role, "permissions_boundary_arn", None) if role is not None else None
    return {"iam:permissionsboundary": boundary} if boundary else {}


def _resource(request: Request, caller: Caller) -> str:
    name = request.params.get("RoleName")
    if request.service == "iam" and request.params.get("PolicyArn") and not name:
        return request.params["PolicyArn"]
    if request.service != "iam" or not name:
        return "*"
    role = role_named(caller.account_id, caller.partition, name)
    return role.arn if role is not None else f"arn:{caller.partition}:iam::{caller.account_id}:role/{name}"


def _document(text: str | dict[str, Any]) -> dict[str, Any]:
    try:
        document = text if isinstance(text, dict) else json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _denied(caller: Caller, action: str, resource: str, *, explicit: bool = False) -> Refusal:
    why = " with an explicit deny in an identity-based policy" if explicit else ""
    return Refusal(403, "AccessDenied", f"User: {caller.arn} is not authorized to perform: {action} "
                                        f"on resource: {resource}{why}")


def _invalid(message: str) -> Refusal:
    return Refusal(400, "ValidationError", message)


def _invalid_token() -> Refusal:
    return Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
