"""Set-up use-cases: what AWS needs from an admin (ExternalId, principal, policies) and a doctor that tries it all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import iam_policies as policies
from bot.domain.arns import parse_role_arn
from bot.domain.errors import AwsError, InvalidInput
from bot.services.account_spec import saved_problems, spec_of
from bot.services.admin import AdminService
from bot.services.base import Clock, UseCase
from bot.services.doctor_checks import Check, DoctorReport, Timed
from bot.services.ports import AccessBroker
from bot.services.read_models import AccountRead, ResourceRead
from bot.services.setup_hints import aws_network_hint
from bot.services.setup_slack import SlackProbe, slack_checks
from bot.services.setup_documents import (
    SOURCE_IDENTITY_NOTE,
    SUGGESTED_RESOURCE_ROLE,
    PolicyDocument,
    ResourcePlan,
    registered,
    resource_documents,
)

__all__ = ["Check", "DoctorReport", "PolicyDocument", "SetupInfo", "SetupService"]

@dataclass(frozen=True)
class SetupInfo:
    """Everything AWS needs to know about this installation."""

    external_id: str
    principal_arn: str  # what sts:GetCallerIdentity says pam-bot is
    trust_principal: str  # what a trust policy names (a session ARN becomes its role's ARN)
    partition: str
    documents: tuple[PolicyDocument, ...]


class SetupService(UseCase):
    """Shows the AWS side of the set-up and checks every configured role for real (admins or the CLI)."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker, external_id: str,
                 admin: AdminService, target_path: str | None = None, permissions_boundary: str | None = None,
                 bot_role_arn: str | None = None) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.external_id = external_id
        self.admin = admin
        self.target_path = target_path
        self.permissions_boundary = permissions_boundary
        self.bot_role_arn = bot_role_arn

    def info(self, *, actor: str, trusted: bool = False, account_id: str | None = None, revocation: bool = False,
             target_path: str | None = None, permissions_boundary: str | None = None,
             source_identity: bool = False) -> SetupInfo:
        """The ExternalId, pam-bot's principal and ready-to-paste policies, scoped to the registered Target
        Roles (or the chosen path) of each resource, in the principal's partition; with `source_identity` (or
        for resources that set it), trust policies that allow sts:SetSourceIdentity."""
        self.admin.authorize(actor, "setup.info", trusted)
        path = policies.validate_target_path(target_path) if target_path else self.target_path
        boundary = permissions_boundary or self.permissions_boundary
        principal = self.broker.caller_identity()
        partition, own_account = principal.split(":")[1], principal.split(":")[4]
        trust, note = self.trust_principal(principal)
        rows = self.admin.accounts()
        resources = list(self.admin.resources())
        named = source_identity or any(r.source_identity for r in resources)
        documents = [PolicyDocument(
            "resource_role_trust", "Resource Role: trust policy",
            "On the Resource Role in each AWS account pam-bot reaches (IAM → Roles → Trust relationships)." + note
            + (SOURCE_IDENTITY_NOTE if named else ""),
            policies.resource_role_trust_policy(trust, self.external_id, source_identity=named))]
        plans = [(registered(r.name, r.role_arn, [(a.role_arn, a.revocation_enabled) for rr, a in rows
                                                   if rr.id == r.id]), r.source_identity) for r in resources]
        if not plans:
            if account_id is not None and not account_id.isdigit():
                raise InvalidInput("--account-id is a 12-digit AWS account id.", detail="bad account id")
            suggested = f"arn:{partition}:iam::{account_id or own_account}:role/{SUGGESTED_RESOURCE_ROLE}"
            plans = [(ResourcePlan(None, suggested, (), ()), False)]
        for plan, sets_identity in plans:
            documents += resource_documents(plan, external_id=self.external_id, target_path=path,
                                            revocation=revocation, boundary=boundary,
                                            source_identity=source_identity or sets_identity)
        return SetupInfo(self.external_id, principal, trust, partition, tuple(documents))

    def trust_principal(self, principal: str) -> tuple[str, str]:
        """What trust policies name for pam-bot (its role with its path) and a note when the path is a guess."""
        if self.bot_role_arn:
            return parse_role_arn(self.bot_role_arn).arn, ""
        if policies.session_role_name(principal) is None:
            return policies.trust_principal(principal), ""
        path = self.broker.own_role_path(principal)
        if path is not None:
            return policies.trust_principal(principal, path), ""
        return policies.trust_principal(principal), (
            " pam-bot could not read its own role's path (allow it iam:GetRole on its own role): if that role has "
            "a path, the principal must include it; set PAM_BOT_ROLE_ARN to the role's full ARN.")

    def doctor(self, *, actor: str, trusted: bool = False, on_check: Callable[[Check], None] | None = None,
               slack: SlackProbe | None = None, default_channel: str | None = None) -> DoctorReport:
        """Assume every Resource Role and chain to every Target Role for real, and with `slack` check the token,
        channels, approvers and groups; say what is wrong and how to fix it, each check as soon as it is done."""
        self.admin.authorize(actor, "setup.doctor", trusted)
        checks = Timed(on_check)
        try:
            principal = self.broker.caller_identity()
            trust = self.trust_principal(principal)[0]
            checks.append(Check("pam-bot's AWS identity", True, f"pam-bot runs as {principal}."))
        except AwsError as error:
            trust = "pam-bot's AWS principal"
            checks.append(Check("pam-bot's AWS identity", False, error.user_message, aws_network_hint(error) or
                                "Give pam-bot working AWS credentials (AWS_* variables, a profile or a role)."))
        broken: set[int] = set()
        for resource in self.admin.resources():
            checks.append(self._check_resource(resource, trust, broken))
        admins = self.admin.admin_ids()
        for resource, account in self.admin.accounts():
            checks.append(self._check_account(resource, account, broken))
            for problem in saved_problems(spec_of(resource.name, account), admins=admins):
                checks.append(Check(f"account {resource.name}/{account.name}", False, problem.user_message,
                                    f"`pam-bot account update {resource.name} {account.name}` with "
                                    f"{FIX_FLAGS.get(problem.field or '', 'the right flags')} (or /pam admin)."))
            if account.break_glass:
                checks.append(Check(f"account {resource.name}/{account.name}", True,
                                    "Break-glass is on: eligible requesters can take it at once without approval "
                                    "(loud, limited per person per day, reviewed afterwards).",
                                    "Turn it off where no emergency needs it: `pam-bot account update "
                                    f"{resource.name} {account.name} --no-break-glass`.", warning=True))
            if account.auto_approve and account.requesters_everyone:
                checks.append(Check(f"account {resource.name}/{account.name}", True,
                                    "Anyone in the workspace gets it at once: it auto-approves and is open to "
                                    "everyone.", "Limit who may request it: `pam-bot account update "
                                    f"{resource.name} {account.name} --requesters U1,U2` or "
                                    "`--requester-group S123`.", warning=True))
        if slack is not None:
            for subject, ok, detail, fix in slack_checks(slack, list(self.admin.accounts()), default_channel):
                checks.append(Check(subject, ok, detail, fix))
        report = DoctorReport(tuple(checks.items))
        self.record(actor, "setup.doctor", "", "ok" if report.ok else "failed", checked=len(report.checks),
                    problems=[c.subject for c in report.problems][:50])
        return report

    def _check_resource(self, resource: ResourceRead, trust: str, broken: set[int]) -> Check:
        subject = f"resource {resource.name}"
        try:
            self.broker.validate_resource(resource.role_arn, source_identity=resource.source_identity)
        except AwsError as error:
            broken.add(resource.id)
            fix = (f"Give the Resource Role {resource.role_arn} the trust policy `pam-bot setup` prints: it trusts "
                   f"{trust} with sts:ExternalId {self.external_id}"
                   + (SOURCE_IDENTITY_FIX if resource.source_identity else ".") if _denied(error)
                   else aws_network_hint(error) or "")
            return Check(subject, False, error.user_message, fix)
        return Check(subject, True, f"pam-bot assumed the Resource Role {resource.role_arn}"
                     + (" setting SourceIdentity." if resource.source_identity else "."))

    def _check_account(self, resource: ResourceRead, account: AccountRead, broken: set[int]) -> Check:
        subject = f"account {resource.name}/{account.name}"
        if resource.id in broken:
            return Check(subject, False, f"Not checked: its resource {resource.name} does not work (see above).",
                         f"Fix the resource {resource.name} first.")
        try:
            review = self.admin.review_target_trust(resource.role_arn, account.role_arn)
            self.broker.validate_account(resource.role_arn, account.role_arn,
                                         source_identity=resource.source_identity)
        except AwsError as error:
            fix = (f"Give the Target Role {account.role_arn} the Target Role trust policy `pam-bot setup` prints "
                   f"for {resource.name} (it trusts {resource.role_arn} with sts:ExternalId {self.external_id}"
                   + (", and allows sts:SetSourceIdentity" if resource.source_identity else "")
                   + "), and let the Resource Role sts:AssumeRole and iam:GetRole it." if _denied(error)
                   else aws_network_hint(error) or "")
            return Check(subject, False, error.user_message, fix)
        if not review.ok:
            return Check(subject, False, "Its trust policy does not require this installation's ExternalId for "
                                         "the Resource Role.", review.problem)
        return Check(subject, True, " ".join((f"The chain to the Target Role {account.role_arn} works.",
                                              *review.warnings)))


FIX_FLAGS = {"approvers": "--approvers U1,U2", "approver_group": "--approver-group S123 (and --approvers '')",
             "approval_channel": "--channel C123", "approvals_required": "--approvals-required N",
             "requesters": "--requesters U1,U2 or --requesters everyone", "requester_group": "--requester-group S123"}
SOURCE_IDENTITY_FIX = (" and allows sts:SetSourceIdentity (the resource sets SourceIdentity; turn that off with "
                       "`pam-bot resource update NAME --no-source-identity` if you do not want it).")


def _denied(error: AwsError) -> bool:
    return error.code in ("AccessDenied", "AccessDeniedException")
