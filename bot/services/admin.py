"""Admin use-cases: register, change and remove resources, accounts and admins."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.policies import target_role_trust_policy
from bot.domain.arns import parse_role_arn
from bot.domain.durations import format_duration, parse_duration
from bot.domain.eligibility import Requesters
from bot.domain.errors import AwsError, Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.names import validate_name
from bot.domain.policy import ApprovalPolicy
from bot.domain.text import quote
from bot.domain.trust import TrustReview, review_target_trust
from bot.services.base import Clock, UseCase
from bot.services.ports import AccessBroker
from storage.models import Account, Admin, Resource

T = TypeVar("T")


@dataclass(frozen=True)
class AccountSpec:
    """Everything an admin says about an account, as typed in a modal or on the command line."""

    resource: str
    name: str
    role_arn: str
    duration: str = "1h"
    description: str = ""
    approver_ids: tuple[str, ...] = ()
    approver_group: str | None = None
    approvals_required: int = 1
    approval_channel: str | None = None
    auto_approve: bool = False
    auto_approve_daily_limit: int | None = None
    require_reason: bool = False
    revocation_enabled: bool = False
    requesters_everyone: bool = False
    requester_ids: tuple[str, ...] = ()
    requester_group: str | None = None
    break_glass: bool = False
    escalate_to: str | None = None  # a channel (C…/G…) or user group (S…) the last reminder wakes
    max_extensions: int = 0
    extend_without_approval: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def requesters(self) -> Requesters:
        """Who may ask, as said; saying nobody is refused (an account must say it explicitly)."""
        said = Requesters(everyone=self.requesters_everyone, user_ids=frozenset(self.requester_ids),
                          group=(self.requester_group or "").strip() or None)
        if said.nobody:
            raise InvalidInput("Say who may request this account: named people, a user group, or everyone.",
                               field="requesters")
        return said


class AdminService(UseCase):
    """Configuration changes; each validates against AWS before anything is saved."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker,
                 env_admins: frozenset[str]) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.env_admins = env_admins

    def admin_ids(self) -> frozenset[str]:
        with self.transaction() as tx:
            return self.env_admins | tx.config.admin_ids()

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_ids()

    def ensure_admin(self, actor: str, action: str) -> None:
        """Refuse (and audit) anyone who is not an admin; checked on every change, not only on open."""
        if not self.is_admin(actor):
            error = NotAllowed("Only pam-bot admins can do this. Ask an admin to add you.")
            self.record(actor, action, outcome="refused", code=error.code, message=error.user_message)
            raise error

    def resources(self) -> Sequence[Resource]:
        with self.transaction() as tx:
            return tx.config.resources()

    def resource(self, name: str) -> Resource:
        """One resource, or NotFound."""
        with self.transaction() as tx:
            row = tx.config.resource(name)
        if row is None:
            raise NotFound(f"There is no resource named {name}.")
        return row

    def account_spec(self, resource: str, name: str) -> AccountSpec:
        """What an account says today, as a spec to change and save again."""
        with self.transaction() as tx:
            found = tx.config.account(resource, name)
        if found is None:
            raise NotFound(f"There is no account {resource}/{name}.")
        return spec_of(found[0].name, found[1])

    def accounts(self, resource: str | None = None) -> Sequence[tuple[Resource, Account]]:
        with self.transaction() as tx:
            return tx.config.accounts(resource)

    def authorize(self, actor: str, action: str, trusted: bool) -> None:
        """Slack users must be admins at the moment of every change; the CLI (`trusted`) runs as the operator."""
        if not trusted:
            self.ensure_admin(actor, action)

    def save_resource(self, *, actor: str, name: str, role_arn: str, description: str = "",
                      replace: bool = False, trusted: bool = False, source_identity: bool | None = None) -> Resource:
        """Add (or with `replace`, change) a resource after assuming its role for real (setting SourceIdentity
        when the resource will; `source_identity` None keeps what it was, off for a new one)."""
        self.authorize(actor, "resource.save", trusted)
        name = validate_name("resource", name)
        with self.audited(actor, "resource.save", name):
            arn = parse_role_arn(role_arn.strip(), field="role_arn").arn
            same_partition(arn, self._check_aws(self.broker.caller_identity), "pam-bot's own AWS principal")
            if source_identity is None:
                with self.transaction() as tx:
                    existing = tx.config.resource(name)
                    source_identity = bool(existing and existing.source_identity)
            self._check_aws(lambda role: self.broker.validate_resource(role, source_identity=source_identity), arn)
            with self.transaction() as tx:
                row = tx.config.resource(name)
                if row is not None and not replace:
                    raise Conflict(f"A resource named {name} already exists.", field="name")
                if row is None:
                    row = Resource(name=name, created_by=actor, created_at=tx.now)
                    tx.session.add(row)
                row.role_arn, row.description, row.updated_at = arn, description.strip(), tx.now
                row.source_identity = source_identity
                tx.session.flush()
                tx.audit(actor, "resource.save", name, role_arn=arn, replaced=replace, source_identity=source_identity)
                return row

    def remove_resource(self, *, actor: str, name: str, trusted: bool = False) -> int:
        """Remove a resource and its accounts; return how many accounts went with it."""
        self.authorize(actor, "resource.remove", trusted)
        with self.audited(actor, "resource.remove", name), self.transaction() as tx:
            row = tx.config.resource(name)
            if row is None:
                raise NotFound(f"There is no resource named {quote(name)}.")
            removed = [account for _, account in tx.config.accounts(name)]
            accounts = len(removed)
            cancelled = tx.requests.cancel_pending_for([a.id for a in removed], tx.now,
                                                       f"the resource {name} was removed")
            tx.config.delete(row)
            tx.audit(actor, "resource.remove", name, accounts_removed=accounts, requests_cancelled=cancelled)
            return accounts

    def review_target_trust(self, resource_role_arn: str, target_role_arn: str) -> TrustReview:
        """Read the Target Role's trust policy through the Resource Role and check it requires the ExternalId."""
        document = self.broker.target_trust_policy(resource_role_arn, target_role_arn)
        return review_target_trust(document, target_role_arn=target_role_arn, resource_role_arn=resource_role_arn,
                                   external_id=self.broker.external_id,
                                   expected=target_role_trust_policy(resource_role_arn, self.broker.external_id))

    def save_account(self, *, actor: str, spec: AccountSpec, replace: bool = False, trusted: bool = False,
                     notes: list[str] | None = None) -> Account:
        """Add (or change) an account after checking its Target Role's trust policy and chaining to it for real;
        warnings about that trust policy are added to `notes`."""
        self.authorize(actor, "account.save", trusted)
        name = validate_name("account", spec.name)
        target = f"{spec.resource}/{name}"
        with self.audited(actor, "account.save", target):
            arn = parse_role_arn(spec.role_arn.strip(), field="role_arn").arn
            duration = parse_duration(spec.duration)
            requesters = spec.requesters()
            escalation(spec.escalate_to)
            if not 0 <= spec.max_extensions <= 10:
                raise InvalidInput("Extensions per session are 0 to 10.", field="max_extensions")
            policy = ApprovalPolicy(
                approver_ids=frozenset(spec.approver_ids), approver_group=spec.approver_group or None,
                approvals_required=spec.approvals_required, auto_approve=spec.auto_approve,
                auto_approve_daily_limit=spec.auto_approve_daily_limit, require_reason=spec.require_reason,
            )
            with self.transaction() as tx:
                resource = tx.config.resource(spec.resource)
                if resource is None:
                    raise NotFound(f"There is no resource named {quote(spec.resource)}.", field="resource")
                resource_arn, source_identity = resource.role_arn, resource.source_identity
            same_partition(arn, resource_arn, f"the Resource Role of {spec.resource}")
            review = self._check_aws(self.review_target_trust, resource_arn, arn)
            if not review.ok:
                raise InvalidInput(review.problem, field="role_arn", code="target_trust",
                                   detail="target role trust policy does not require the ExternalId")
            self._check_aws(lambda r, t: self.broker.validate_account(r, t, source_identity=source_identity),
                            resource_arn, arn)
            if notes is not None:
                notes.extend(review.warnings)
            with self.transaction() as tx:
                found = tx.config.account(spec.resource, name)
                if found is not None and not replace:
                    raise Conflict(f"{quote(target)} already exists.", field="name")
                resource = tx.config.resource(spec.resource)
                if resource is None:
                    raise NotFound(f"There is no resource named {quote(spec.resource)}.", field="resource")
                row = found[1] if found else Account(resource_id=resource.id, created_by=actor, created_at=tx.now)
                _apply(row, name=name, arn=arn, duration=duration, spec=spec, policy=policy)
                row.requesters_everyone = requesters.everyone
                row.requester_ids = sorted(requesters.user_ids)
                row.requester_group = requesters.group
                row.updated_at = tx.now
                tx.session.add(row)
                tx.session.flush()
                tx.audit(actor, "account.save", target, role_arn=arn, duration=format_duration(duration),
                         approvers=sorted(policy.approver_ids), approver_group=policy.approver_group,
                         approvals_required=policy.approvals_required, auto_approve=policy.auto_approve,
                         requesters="everyone" if requesters.everyone else sorted(requesters.user_ids),
                         requester_group=requesters.group, break_glass=spec.break_glass, replaced=replace,
                         **({"trust_warnings": list(review.warnings)} if review.warnings else {}))
                return row

    def remove_account(self, *, actor: str, resource: str, name: str, trusted: bool = False) -> int:
        """Remove an account; return how many active sessions it had (they run until they end)."""
        self.authorize(actor, "account.remove", trusted)
        target = f"{resource}/{name}"
        with self.audited(actor, "account.remove", target), self.transaction() as tx:
            found = tx.config.account(resource, name)
            if found is None:
                raise NotFound(f"There is no account {quote(target)}.")
            active = sum(1 for s in tx.sessions.active(limit=10_000) if s.account_id == found[1].id)
            cancelled = tx.requests.cancel_pending_for([found[1].id], tx.now, f"the account {target} was removed")
            tx.config.delete(found[1])
            tx.audit(actor, "account.remove", target, active_sessions=active, requests_cancelled=cancelled)
            return active

    def set_admin(self, *, actor: str, user_id: str, admin: bool, trusted: bool = False) -> None:
        """Add or remove an admin stored in the database (PAM_ADMINS cannot be changed here)."""
        self.authorize(actor, "admin.add" if admin else "admin.remove", trusted)
        with self.audited(actor, "admin.add" if admin else "admin.remove", user_id), self.transaction() as tx:
            if not admin and user_id in self.env_admins:
                raise InvalidInput(f"<@{user_id}> is an admin through PAM_ADMINS; change it there.")
            row = tx.config.admin(user_id)
            if admin and row is None:
                tx.config.add(Admin(user_id=user_id, added_by=actor, added_at=tx.now))
            elif not admin and row is not None:
                tx.config.delete(row)
            tx.audit(actor, "admin.add" if admin else "admin.remove", user_id)

    @staticmethod
    def _check_aws(check: Callable[..., T], *args: str) -> T:
        try:
            return check(*args)
        except AwsError as error:
            error.field = error.field or "role_arn"
            raise


def same_partition(role_arn: str, other_arn: str, other: str) -> None:
    """Refuse a role in another AWS partition than `other_arn`: no role can be assumed across partitions."""
    mine, theirs = role_arn.split(":")[1], other_arn.split(":")[1]
    if mine != theirs:
        raise InvalidInput(f"That role is in the AWS partition {mine}, but {other} is in {theirs} ({other_arn}). "
                           f"Roles cannot be assumed across partitions: use a role in {theirs}, or run a pam-bot "
                           f"installation in {mine}.", field="role_arn", code="partition_mismatch",
                           detail=f"partition {mine} != {theirs}")


def _apply(row: Account, *, name: str, arn: str, duration: int, spec: AccountSpec, policy: ApprovalPolicy) -> None:
    row.name, row.role_arn, row.default_duration_seconds = name, arn, duration
    row.description = spec.description.strip()
    row.approver_ids = sorted(policy.approver_ids)
    row.approver_group = policy.approver_group
    row.approvals_required = policy.approvals_required
    row.approval_channel = spec.approval_channel or None
    row.auto_approve = policy.auto_approve
    row.auto_approve_daily_limit = policy.auto_approve_daily_limit
    row.require_reason = policy.require_reason
    row.revocation_enabled = spec.revocation_enabled
    row.break_glass = spec.break_glass
    row.escalate_to = spec.escalate_to or None
    row.max_extensions = spec.max_extensions
    row.extend_without_approval = spec.extend_without_approval


def spec_of(resource: str, account: Account) -> AccountSpec:
    """The form's values of a saved account."""
    return AccountSpec(
        resource=resource, name=account.name, role_arn=account.role_arn,
        duration=format_duration(account.default_duration_seconds), description=account.description or "",
        approver_ids=tuple(account.approver_ids or ()), approver_group=account.approver_group,
        approvals_required=account.approvals_required, approval_channel=account.approval_channel,
        auto_approve=account.auto_approve, auto_approve_daily_limit=account.auto_approve_daily_limit,
        require_reason=account.require_reason, revocation_enabled=account.revocation_enabled,
        requesters_everyone=account.requesters_everyone, requester_ids=tuple(account.requester_ids or ()),
        requester_group=account.requester_group, break_glass=account.break_glass, escalate_to=account.escalate_to,
        max_extensions=account.max_extensions, extend_without_approval=account.extend_without_approval)


def escalation(target: str | None) -> None:
    """An escalation target is a channel (C…, G…) or a user group (S…), by id; InvalidInput otherwise."""
    if target and not re.fullmatch(r"[CGS][A-Z0-9]{2,31}", target):
        raise InvalidInput(f"Escalate to a channel (C…) or a user group (S…) by its id, not {quote(target)}.",
                           field="escalate_to")
