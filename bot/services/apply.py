"""`apply`: check a whole configuration against AWS and Slack first, then write every change in one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bot.domain.arns import parse_role_arn
from bot.domain.errors import Conflict, PamError
from bot.domain.names import validate_name
from bot.domain.slack_ids import user_ids
from bot.services import config_rows
from bot.services.account_spec import AccountSpec, check_spec
from bot.services.admin import AdminService, same_partition
from bot.services.base import Tx, UseCase
from bot.services.config_plan import DesiredConfig, Plan, ResourceConfig, admins_after, current_config, make_plan
from bot.services.slack_checks import RememberingSlackIds

VIA = "apply"


@dataclass(frozen=True)
class Problem:
    """One reason the file cannot be applied: what it is about, the message, and the error's code."""

    subject: str
    message: str
    code: str


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    problems: tuple[Problem, ...] = ()
    applied: bool = False


class ApplyService(UseCase):
    """Makes the configuration match a file: plan, check everything, then all changes or none."""

    def __init__(self, *, admin: AdminService) -> None:
        super().__init__(db=admin.db, clock=admin.clock)
        self.admin = admin

    def plan(self, desired: DesiredConfig, *, prune: bool) -> Plan:
        with self.transaction() as tx:
            return make_plan(current_config(tx), desired, prune=prune)

    def apply(self, desired: DesiredConfig, *, actor: str, prune: bool, dry_run: bool) -> Outcome:
        """Plan, check every admin, resource and account named, and (unless `dry_run`) write the plan."""
        with self.transaction() as tx:
            current = current_config(tx)
        plan = make_plan(current, desired, prune=prune)
        problems = tuple(self.check(desired, admins=self.admin.env_admins | admins_after(
            current.admins, desired, prune=prune)))
        if problems:
            self.record(actor, "config.apply", "", "refused", dry_run=dry_run, problems=len(problems),
                        codes=sorted({p.code for p in problems}), first=f"{problems[0].subject}: {problems[0].message}")
            return Outcome(plan, problems)
        if dry_run:
            return Outcome(plan)
        with self.audited(actor, "config.apply"), self.transaction() as tx:
            if make_plan(current_config(tx), desired, prune=prune) != plan:
                raise Conflict("The configuration changed while the file was being checked; run apply again.",
                               code="config_changed")
            self._write(tx, actor, desired, plan)
            tx.audit(actor, "config.apply", "", added=plan.count("add"), changed=plan.count("change"),
                     removed=plan.count("remove"), prune=prune)
        return Outcome(plan, applied=True)

    def check(self, desired: DesiredConfig, *, admins: frozenset[str]) -> list[Problem]:
        """Every problem with the file: duplicates, values, Slack ids (against Slack too with a token), someone
        able to approve each account, and every role against AWS (a resource's accounts only when it works)."""
        problems: list[Problem] = []
        slack = RememberingSlackIds(self.admin.slack) if self.admin.slack is not None else None
        names = Counter(r.name for r in desired.resources)
        problems += [Problem(f"resource {n}", "is named twice in the file", "duplicate") for n, c in names.items()
                     if c > 1]
        for user_id in desired.admins:
            problems += _problems(f"admin {user_id}", partial(self._check_admin, user_id, slack))
        for resource in desired.resources:
            works = not _problems(f"resource {resource.name}", partial(self._check_resource, resource), problems)
            counts = Counter(a.name for a in resource.accounts)
            for account in resource.accounts:
                subject = f"account {resource.name}/{account.name}"
                if counts[account.name] > 1:
                    problems.append(Problem(subject, "is named twice in the file", "duplicate"))
                    counts[account.name] = 0
                checked = _problems(subject, partial(self.admin.check_account, account, admins=admins, slack=slack),
                                    problems)
                if works and not checked:
                    _problems(subject, partial(
                        self.admin.check_account_aws, resource.role_arn.strip(), account.role_arn.strip(),
                        source_identity=resource.source_identity, resource=resource.name), problems)
        return problems

    def _check_admin(self, user_id: str, slack: RememberingSlackIds | None) -> None:
        user_ids([user_id], field="admins")
        if slack is not None:
            slack.user(user_id, field="admins")

    def _check_resource(self, resource: ResourceConfig) -> None:
        validate_name("resource", resource.name)
        arn = parse_role_arn(resource.role_arn.strip(), field="role_arn").arn
        same_partition(arn, self.admin.broker.caller_identity(), "pam-bot's own AWS principal")
        self.admin.broker.validate_resource(arn, source_identity=resource.source_identity)

    def _write(self, tx: Tx, actor: str, desired: DesiredConfig, plan: Plan) -> None:
        wanted = {r.name: r for r in desired.resources}
        accounts = {f"{r.name}/{a.name}": a for r in desired.resources for a in r.accounts}
        for change in plan.changes:
            kind, subject = change.kind, change.subject
            fields = {name: after for name, _, after in change.fields}
            if kind == "admin":
                config_rows.set_admin(tx, actor=actor, user_id=subject, admin=change.action == "add", via=VIA)
            elif kind == "resource" and change.action == "remove":
                row = tx.config.resource(subject)
                if row is not None:
                    config_rows.delete_resource(tx, actor=actor, row=row, via=VIA)
            elif kind == "resource":
                r = wanted[subject]
                config_rows.write_resource(tx, actor=actor, row=tx.config.resource(subject), name=r.name,
                                           arn=parse_role_arn(r.role_arn.strip()).arn, description=r.description,
                                           source_identity=r.source_identity, via=VIA, fields=sorted(fields))
            else:
                self._write_account(tx, actor, change.action, subject, accounts.get(subject), sorted(fields))

    def _write_account(self, tx: Tx, actor: str, action: str, subject: str, spec: AccountSpec | None,
                       fields: list[str]) -> None:
        resource_name, name = subject.split("/", 1)
        found = tx.config.account(resource_name, name)
        if action == "remove":
            if found is not None:
                config_rows.delete_account(tx, actor=actor, resource=resource_name, row=found[1], via=VIA)
            return
        assert spec is not None
        resource = tx.config.resource(resource_name)
        assert resource is not None  # written before its accounts, in the same transaction
        config_rows.write_account(tx, actor=actor, resource=resource, row=found[1] if found else None, spec=spec,
                                  checked=check_spec(spec), via=VIA, fields=fields)


def _problems(subject: str, check: Callable[[], object], into: list[Problem] | None = None) -> list[Problem]:
    """Run `check`; the PamError it raises as a Problem (appended to `into` too)."""
    found: list[Problem] = []
    try:
        check()
    except PamError as error:
        found.append(Problem(subject, error.user_message, error.code))
    if into is not None:
        into.extend(found)
    return found
