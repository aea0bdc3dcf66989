"""What `pam-bot setup` prints for one resource: its Resource Role's permissions and its Target Roles' trust."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import iam_policies as policies
from bot.domain.arns import parse_role_arn

SUGGESTED_RESOURCE_ROLE = "pam-bot-resource"  # the name the set-up text proposes when no resource exists yet


@dataclass(frozen=True)
class PolicyDocument:
    """One JSON document an admin pastes into IAM, and where it goes."""

    key: str  # resource_role_trust, resource_role_permissions:<resource>, target_role_trust:<resource>
    title: str
    where: str
    document: dict[str, Any]


@dataclass(frozen=True)
class ResourcePlan:
    """What one resource's Resource Role may reach: its registered Target Roles, the chosen path, revocation."""

    name: str | None  # None: no resource registered yet (a suggested Resource Role)
    role_arn: str
    targets: tuple[str, ...]
    revoking: tuple[str, ...]  # Target Roles of accounts with revocation on


SOURCE_IDENTITY_NOTE = (" It also allows sts:SetSourceIdentity, so pam-bot can name the person as SourceIdentity, "
                        "which CloudTrail keeps on every role they assume from the console.")


def resource_documents(plan: ResourcePlan, *, external_id: str, target_path: str | None, revocation: bool,
                       boundary: str | None, source_identity: bool = False) -> list[PolicyDocument]:
    """The permissions policy (scoped to `plan`'s Target Roles or `target_path`) and the Target Role trust."""
    own = parse_role_arn(plan.role_arn)
    scope = policies.TargetScope(plan.targets, target_path)
    revoked = scope if revocation else policies.TargetScope(plan.revoking) if plan.revoking else None
    boundary_arn = policies.boundary_arn(boundary, own.partition, own.account_id) if boundary else None
    name = plan.name or "new"
    label = f" of {plan.name}" if plan.name else ""
    role_hint = "" if plan.name else f" (create it as {SUGGESTED_RESOURCE_ROLE}, or change this ARN)"
    return [
        PolicyDocument(
            f"resource_role_permissions:{name}", f"Resource Role{label}: permissions policy",
            f"An inline policy on the Resource Role {plan.role_arn}{role_hint}. " + _scope_text(plan, target_path)
            + (_revocation_text(boundary_arn) if revoked is not None else "")
            + " It may never change its own policies or any permissions boundary.",
            policies.resource_role_permissions_policy(plan.role_arn, scope, revocation=revoked,
                                                      permissions_boundary=boundary_arn)),
        PolicyDocument(
            f"target_role_trust:{name}", f"Target Roles{label}: trust policy",
            f"On every Target Role people get through {plan.name or 'this resource'}: it trusts the Resource Role "
            f"{plan.role_arn} only with this installation's ExternalId (pam-bot checks this before it saves an "
            f"account)." + (SOURCE_IDENTITY_NOTE if source_identity else ""),
            policies.target_role_trust_policy(plan.role_arn, external_id, source_identity=source_identity)),
    ]


def _scope_text(plan: ResourcePlan, target_path: str | None) -> str:
    found = []
    if plan.targets:
        found.append(f"the {len(plan.targets)} Target Role(s) registered for it")
    if target_path:
        found.append(f"every role under the path {target_path} (create Target Roles with that path)")
    if found:
        return (f"It may assume and read {' and '.join(found)}. Before registering a Target Role outside them, add "
                f"its ARN to AssumeTargetRoles and ReadTargetRoleTrust.")
    return (f"No Target Role is registered for it yet and no path was chosen: replace {policies.TARGET_PLACEHOLDER} "
            f"with the name of each Target Role you will register (one ARN each), or run `pam-bot setup "
            f"--target-path /pam/` (or set PAM_TARGET_PATH) to allow the roles under a path. Until then it can "
            f"reach no role.")


def _revocation_text(boundary_arn: str | None) -> str:
    text = (" For revocation it may read, write and delete inline policies of those Target Roles, and write "
            "only on a role that carries the permissions boundary ")
    if boundary_arn:
        return text + f"{boundary_arn}, so a written policy never grants more than that boundary."
    return text + (f"{policies.BOUNDARY_PLACEHOLDER}: choose one with --permissions-boundary (or "
                   f"PAM_PERMISSIONS_BOUNDARY) and attach it to the Target Roles; until then revocation is refused.")


def registered(name: str, role_arn: str, accounts: Sequence[tuple[str, bool]]) -> ResourcePlan:
    """A plan from a registered resource and its accounts' (target role ARN, revocation on)."""
    return ResourcePlan(name, role_arn, tuple(sorted({arn for arn, _ in accounts})),
                        tuple(sorted({arn for arn, on in accounts if on})))
