"""Set-up use-cases: what AWS needs from an admin (ExternalId, principal, policies) and a doctor that tries it all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.aws import policies
from bot.domain.errors import AwsError
from bot.services.admin import AdminService
from bot.services.base import Clock, UseCase
from bot.services.ports import AccessBroker
from storage.models import Account, Resource

SUGGESTED_RESOURCE_ROLE = "pam-bot-resource"  # the name the set-up text proposes when no resource exists yet


@dataclass(frozen=True)
class PolicyDocument:
    """One JSON document an admin pastes into IAM, and where it goes."""

    key: str  # resource_role_trust, resource_role_permissions:<resource>, target_role_trust:<resource>
    title: str
    where: str
    document: dict[str, Any]


@dataclass(frozen=True)
class SetupInfo:
    """Everything AWS needs to know about this installation."""

    external_id: str
    principal_arn: str  # what sts:GetCallerIdentity says pam-bot is
    trust_principal: str  # what a trust policy names (a session ARN becomes its role's ARN)
    partition: str
    documents: tuple[PolicyDocument, ...]


@dataclass(frozen=True)
class Check:
    """One doctor finding: a subject, whether it works, what happened and how to fix it."""

    subject: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problems(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)


class SetupService(UseCase):
    """Shows the AWS side of the set-up and checks every configured role for real (admins or the CLI)."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker, external_id: str,
                 admin: AdminService) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.external_id = external_id
        self.admin = admin

    def info(self, *, actor: str, trusted: bool = False, account_id: str | None = None,
             revocation: bool = False, source_identity: bool = False) -> SetupInfo:
        """The ExternalId, pam-bot's principal and ready-to-paste policies in the principal's partition."""
        self.admin.authorize(actor, "setup.info", trusted)
        principal = self.broker.caller_identity()
        partition, own_account = principal.split(":")[1], principal.split(":")[4]
        trust = policies.trust_principal(principal)
        rows = self.admin.accounts()
        resources = list(self.admin.resources())
        named = source_identity or any(r.source_identity for r in resources)
        documents = [PolicyDocument(
            "resource_role_trust", "Resource Role: trust policy",
            "On the Resource Role in each AWS account pam-bot reaches (IAM → Roles → Trust relationships)"
            + (SOURCE_IDENTITY_NOTE if named else "."),
            policies.resource_role_trust_policy(principal, self.external_id, source_identity=named))]
        if not resources:
            suggested = f"arn:{partition}:iam::{account_id or own_account}:role/{SUGGESTED_RESOURCE_ROLE}"
            documents += self._per_resource(None, suggested, partition, revocation, source_identity)
        for resource in resources:
            revoke = revocation or any(a.revocation_enabled for r, a in rows if r.id == resource.id)
            documents += self._per_resource(resource, resource.role_arn, partition, revoke,
                                            source_identity or resource.source_identity)
        return SetupInfo(self.external_id, principal, trust, partition, tuple(documents))

    def doctor(self, *, actor: str, trusted: bool = False) -> DoctorReport:
        """Assume every Resource Role and chain to every Target Role for real; say what is wrong and how to fix it."""
        self.admin.authorize(actor, "setup.doctor", trusted)
        checks: list[Check] = []
        try:
            principal = self.broker.caller_identity()
            trust = policies.trust_principal(principal)
            checks.append(Check("pam-bot's AWS identity", True, f"pam-bot runs as {principal}."))
        except AwsError as error:
            trust = "pam-bot's AWS principal"
            checks.append(Check("pam-bot's AWS identity", False, error.user_message,
                                "Give pam-bot working AWS credentials (AWS_* variables, a profile or a role)."))
        broken: set[int] = set()
        for resource in self.admin.resources():
            checks.append(self._check_resource(resource, trust, broken))
        admins = self.admin.admin_ids()
        for resource, account in self.admin.accounts():
            checks.append(self._check_account(resource, account, broken))
            if not (account.auto_approve or account.approver_ids or account.approver_group or admins):
                checks.append(Check(f"account {resource.name}/{account.name}", False,
                                    "Nobody can approve its requests: it names no approvers and there are no admins.",
                                    "Name approvers or an approver group, or add a pam-bot admin."))
        report = DoctorReport(tuple(checks))
        self.record(actor, "setup.doctor", "", "ok" if report.ok else "failed", checked=len(checks),
                    problems=[c.subject for c in report.problems][:50])
        return report

    def _per_resource(self, resource: Resource | None, role_arn: str, partition: str,
                      revocation: bool, source_identity: bool) -> list[PolicyDocument]:
        name = resource.name if resource else "new"
        label = f" of {resource.name}" if resource else ""
        account = role_arn.split(":")[4]
        role_hint = "" if resource else f" (create it as {SUGGESTED_RESOURCE_ROLE}, or change this ARN)"
        return [
            PolicyDocument(
                f"resource_role_permissions:{name}", f"Resource Role{label}: permissions policy",
                f"An inline policy on the Resource Role {role_arn}{role_hint}: it may assume the account's "
                "Target Roles" + (" and cut sessions short (revocation)." if revocation else "."),
                policies.resource_role_permissions_policy(partition, account, allow_revocation=revocation)),
            PolicyDocument(
                f"target_role_trust:{name}", f"Target Roles{label}: trust policy",
                f"On every Target Role people get through {resource.name if resource else 'this resource'}: "
                f"it trusts the Resource Role {role_arn}" + (SOURCE_IDENTITY_NOTE if source_identity else "."),
                policies.target_role_trust_policy(role_arn, self.external_id, source_identity=source_identity)),
        ]

    def _check_resource(self, resource: Resource, trust: str, broken: set[int]) -> Check:
        subject = f"resource {resource.name}"
        try:
            self.broker.validate_resource(resource.role_arn, source_identity=resource.source_identity)
        except AwsError as error:
            broken.add(resource.id)
            fix = (f"Give the Resource Role {resource.role_arn} the trust policy `pam-bot setup` prints: it trusts "
                   f"{trust} with sts:ExternalId {self.external_id}"
                   + (SOURCE_IDENTITY_FIX if resource.source_identity else ".") if _denied(error) else "")
            return Check(subject, False, error.user_message, fix)
        return Check(subject, True, f"pam-bot assumed the Resource Role {resource.role_arn}"
                     + (" setting SourceIdentity." if resource.source_identity else "."))

    def _check_account(self, resource: Resource, account: Account, broken: set[int]) -> Check:
        subject = f"account {resource.name}/{account.name}"
        if resource.id in broken:
            return Check(subject, False, f"Not checked: its resource {resource.name} does not work (see above).",
                         f"Fix the resource {resource.name} first.")
        try:
            self.broker.validate_account(resource.role_arn, account.role_arn,
                                         source_identity=resource.source_identity)
        except AwsError as error:
            fix = (f"Give the Target Role {account.role_arn} the Target Role trust policy `pam-bot setup` prints "
                   f"for {resource.name} (it trusts {resource.role_arn} with sts:ExternalId {self.external_id}"
                   + (", and allows sts:SetSourceIdentity" if resource.source_identity else "")
                   + "), and let the Resource Role sts:AssumeRole it." if _denied(error) else "")
            return Check(subject, False, error.user_message, fix)
        return Check(subject, True, f"The chain to the Target Role {account.role_arn} works.")


SOURCE_IDENTITY_NOTE = (": it also allows sts:SetSourceIdentity, so pam-bot can name the person as SourceIdentity, "
                        "which CloudTrail keeps on every role they assume from the console.")
SOURCE_IDENTITY_FIX = (" and allows sts:SetSourceIdentity (the resource sets SourceIdentity; turn that off with "
                       "`pam-bot resource update NAME --no-source-identity` if you do not want it).")


def _denied(error: AwsError) -> bool:
    return error.code in ("AccessDenied", "AccessDeniedException")
