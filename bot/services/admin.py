"""Admin use-cases: register, change and remove resources, accounts and admins."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.iam_policies import target_role_trust_policy
from bot.domain.approvable import ensure_approvable
from bot.domain.arns import parse_role_arn
from bot.domain.errors import AwsError, Conflict, InvalidInput, NotAllowed, NotFound
from bot.domain.names import validate_name
from bot.domain.text import quote
from bot.domain.trust import TrustReview, review_target_trust
from bot.services import config_rows
from bot.services.account_spec import AccountSpec, CheckedAccount, check_spec, spec_of
from bot.services.base import Clock, UseCase
from bot.services.ports import AccessBroker, SlackIds
from bot.services.read_models import AccountRead, ResourceRead
from bot.services.slack_checks import check_slack_ids

__all__ = ["AccountSpec", "AdminChange", "AdminService", "same_partition", "spec_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class AdminChange:
    """What `set_admins` changed: the stored admins it added and removed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class AdminService(UseCase):
    """Configuration changes; each validates against AWS before anything is saved."""

    def __init__(self, *, db: sessionmaker[Session], clock: Clock, broker: AccessBroker,
                 env_admins: frozenset[str], slack: SlackIds | None = None) -> None:
        super().__init__(db=db, clock=clock)
        self.broker = broker
        self.env_admins = env_admins
        self.slack = slack  # Slack ids are checked against Slack when pam-bot has a token

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

    def resources(self) -> Sequence[ResourceRead]:
        with self.transaction() as tx:
            return [ResourceRead.of(row) for row in tx.config.resources()]

    def resource(self, name: str) -> ResourceRead:
        """One resource, or NotFound."""
        with self.transaction() as tx:
            row = tx.config.resource(name)
            if row is None:
                raise NotFound(f"There is no resource named {name}.")
            return ResourceRead.of(row)

    def account_spec(self, resource: str, name: str) -> AccountSpec:
        """What an account says today, as a spec to change and save again."""
        with self.transaction() as tx:
            found = tx.config.account(resource, name)
        if found is None:
            raise NotFound(f"There is no account {resource}/{name}.")
        return spec_of(found[0].name, found[1])

    def accounts(self, resource: str | None = None) -> Sequence[tuple[ResourceRead, AccountRead]]:
        with self.transaction() as tx:
            return [(ResourceRead.of(res), AccountRead.of(acc)) for res, acc in tx.config.accounts(resource)]

    def authorize(self, actor: str, action: str, trusted: bool) -> None:
        """Slack users must be admins at the moment of every change; the CLI (`trusted`) runs as the operator."""
        if not trusted:
            self.ensure_admin(actor, action)

    def save_resource(self, *, actor: str, name: str, role_arn: str, description: str = "", replace: bool = False,
                      trusted: bool = False, source_identity: bool | None = None) -> ResourceRead:
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
                return ResourceRead.of(config_rows.write_resource(
                    tx, actor=actor, row=row, name=name, arn=arn, description=description,
                    source_identity=source_identity))

    def remove_resource(self, *, actor: str, name: str, trusted: bool = False) -> int:
        """Remove a resource and its accounts; return how many accounts went with it."""
        self.authorize(actor, "resource.remove", trusted)
        with self.audited(actor, "resource.remove", name), self.transaction() as tx:
            row = tx.config.resource(name)
            if row is None:
                raise NotFound(f"There is no resource named {quote(name)}.")
            return config_rows.delete_resource(tx, actor=actor, row=row)

    def review_target_trust(self, resource_role_arn: str, target_role_arn: str) -> TrustReview:
        """Read the Target Role's trust policy through the Resource Role and check it requires the ExternalId."""
        document = self.broker.target_trust_policy(resource_role_arn, target_role_arn)
        return review_target_trust(document, target_role_arn=target_role_arn, resource_role_arn=resource_role_arn,
                                   external_id=self.broker.external_id,
                                   expected=target_role_trust_policy(resource_role_arn, self.broker.external_id))

    def check_account(self, spec: AccountSpec, *, admins: frozenset[str] | None = None,
                      slack: SlackIds | None = None) -> CheckedAccount:
        """Every check of an account that needs no AWS: values, Slack ids (against Slack too when pam-bot has a
        token) and that someone can approve it (`admins`: the admins it will have; default: today's)."""
        checked = check_spec(spec)
        slack = slack or self.slack
        group_size = check_slack_ids(spec, slack) if slack is not None else None
        ensure_approvable(spec.approval(), admins=self.admin_ids() if admins is None else admins,
                          group_size=group_size)
        return checked

    def check_account_aws(self, resource_arn: str, arn: str, *, source_identity: bool, resource: str) -> TrustReview:
        """The Target Role's trust policy requires the ExternalId, and the chain to it works."""
        same_partition(arn, resource_arn, f"the Resource Role of {resource}")
        review = self._check_aws(self.review_target_trust, resource_arn, arn)
        if not review.ok:
            raise InvalidInput(review.problem, field="role_arn", code="target_trust",
                               detail="target role trust policy does not require the ExternalId")
        self._check_aws(lambda r, t: self.broker.validate_account(r, t, source_identity=source_identity),
                        resource_arn, arn)
        return review

    def save_account(self, *, actor: str, spec: AccountSpec, replace: bool = False, trusted: bool = False,
                     notes: list[str] | None = None) -> AccountRead:
        """Add (or change) an account after checking its Target Role's trust policy and chaining to it for real;
        warnings about that trust policy are added to `notes`."""
        self.authorize(actor, "account.save", trusted)
        name = validate_name("account", spec.name)
        target = f"{spec.resource}/{name}"
        with self.audited(actor, "account.save", target):
            check_spec(spec)
            with self.transaction() as tx:
                resource = tx.config.resource(spec.resource)
                if resource is None:
                    raise NotFound(f"There is no resource named {quote(spec.resource)}.", field="resource")
                resource_arn, source_identity = resource.role_arn, resource.source_identity
            checked = self.check_account(spec)
            review = self.check_account_aws(resource_arn, checked.arn, source_identity=source_identity,
                                            resource=spec.resource)
            if notes is not None:
                notes.extend(review.warnings)
            with self.transaction() as tx:
                found = tx.config.account(spec.resource, name)
                if found is not None and not replace:
                    raise Conflict(f"{quote(target)} already exists.", field="name")
                resource = tx.config.resource(spec.resource)
                if resource is None:
                    raise NotFound(f"There is no resource named {quote(spec.resource)}.", field="resource")
                return AccountRead.of(config_rows.write_account(
                    tx, actor=actor, resource=resource, row=found[1] if found else None, spec=spec, checked=checked,
                    **({"trust_warnings": list(review.warnings)} if review.warnings else {})))

    def remove_account(self, *, actor: str, resource: str, name: str, trusted: bool = False) -> int:
        """Remove an account; return how many active sessions it had (they run until they end)."""
        self.authorize(actor, "account.remove", trusted)
        target = f"{resource}/{name}"
        with self.audited(actor, "account.remove", target), self.transaction() as tx:
            found = tx.config.account(resource, name)
            if found is None:
                raise NotFound(f"There is no account {quote(target)}.")
            return config_rows.delete_account(tx, actor=actor, resource=resource, row=found[1])

    def set_admin(self, *, actor: str, user_id: str, admin: bool, trusted: bool = False) -> None:
        """Add or remove an admin stored in the database (PAM_ADMINS cannot be changed here)."""
        self.authorize(actor, "admin.add" if admin else "admin.remove", trusted)
        with self.audited(actor, "admin.add" if admin else "admin.remove", user_id), self.transaction() as tx:
            if not admin and user_id in self.env_admins:
                raise InvalidInput(f"<@{user_id}> is an admin through PAM_ADMINS; change it there.")
            config_rows.set_admin(tx, actor=actor, user_id=user_id, admin=admin)

    def set_admins(self, *, actor: str, chosen: Collection[str]) -> AdminChange:
        """Make the stored admins exactly `chosen` (PAM_ADMINS stay whatever they are); an admin may not remove
        themselves, so the last stored admin cannot lock everyone out by accident."""
        self.ensure_admin(actor, "admin.add")
        wanted = set(chosen)
        stored = self.admin_ids() - self.env_admins
        change = AdminChange(added=tuple(sorted(wanted - stored - self.env_admins)),
                             removed=tuple(sorted(stored - wanted)))
        if actor in change.removed:
            raise InvalidInput("You cannot remove yourself; ask another admin to do it.", field="admins")
        for user in change.added:
            self.set_admin(actor=actor, user_id=user, admin=True)
        for user in change.removed:
            self.set_admin(actor=actor, user_id=user, admin=False)
        return change

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
