"""Configuration as code: the desired configuration as values, today's as the same values, and the plan between."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain.durations import format_duration, parse_duration
from bot.domain.errors import InvalidInput
from bot.services.account_spec import AccountSpec, spec_of
from bot.services.base import Tx


@dataclass(frozen=True)
class ResourceConfig:
    """A resource as a configuration file says it, with its accounts."""

    name: str
    role_arn: str
    description: str = ""
    source_identity: bool = False
    accounts: tuple[AccountSpec, ...] = ()


@dataclass(frozen=True)
class DesiredConfig:
    """The whole configuration: admins stored in the database, resources and their accounts."""

    admins: tuple[str, ...] = ()
    resources: tuple[ResourceConfig, ...] = ()


@dataclass(frozen=True)
class Change:
    """One step of a plan: add, change or remove an admin, a resource or an account; `fields` (name, before,
    after) for what differs."""

    action: str
    kind: str
    subject: str
    fields: tuple[tuple[str, Any, Any], ...] = ()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    kept: tuple[str, ...] = ()  # what the file does not name, kept because --prune was not given

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


def resource_fields(resource: ResourceConfig) -> dict[str, Any]:
    """A resource's values as the file names them."""
    return {"role_arn": resource.role_arn.strip(), "description": resource.description.strip(),
            "source_identity": resource.source_identity}


def account_fields(spec: AccountSpec) -> dict[str, Any]:
    """An account's values as the file names them, in one spelling (sorted ids, `30m`), so equal means equal."""
    try:
        duration = format_duration(parse_duration(spec.duration))
    except InvalidInput:
        duration = spec.duration
    return {
        "role_arn": spec.role_arn.strip(), "description": spec.description.strip(), "duration": duration,
        "requesters": "everyone" if spec.requesters_everyone else sorted(spec.requester_ids),
        "requester_group": spec.requester_group or None, "approvers": sorted(spec.approver_ids),
        "approver_group": spec.approver_group or None, "approvals_required": spec.approvals_required,
        "channel": spec.approval_channel or None, "auto_approve": spec.auto_approve,
        "auto_approve_daily_limit": spec.auto_approve_daily_limit, "require_reason": spec.require_reason,
        "revocation": spec.revocation_enabled, "break_glass": spec.break_glass,
        "max_extensions": spec.max_extensions, "extend_without_approval": spec.extend_without_approval,
        "escalate_to": spec.escalate_to or None,
    }


def current_config(tx: Tx) -> DesiredConfig:
    """Today's configuration, in the same values a file gives."""
    accounts: dict[str, list[AccountSpec]] = {}
    for resource, account in tx.config.accounts():
        accounts.setdefault(resource.name, []).append(spec_of(resource.name, account))
    return DesiredConfig(
        admins=tuple(sorted(tx.config.admin_ids())),
        resources=tuple(ResourceConfig(r.name, r.role_arn, r.description or "", r.source_identity,
                                       tuple(accounts.get(r.name, ()))) for r in tx.config.resources()))


def make_plan(current: DesiredConfig, desired: DesiredConfig, *, prune: bool) -> Plan:
    """What applying `desired` to `current` does; without `prune`, what the file does not name is kept."""
    adds: list[Change] = []
    changes: list[Change] = []
    removes: list[Change] = []
    kept: list[Change] = []
    for admin in sorted(set(desired.admins) - set(current.admins)):
        adds.append(Change("add", "admin", admin))
    now = {r.name: r for r in current.resources}
    wanted = {r.name: r for r in desired.resources}
    for name, resource in wanted.items():
        _diff("resource", name, resource_fields(now[name]) if name in now else None, resource_fields(resource),
              adds, changes)
        before = {a.name: a for a in now[name].accounts} if name in now else {}
        for account in resource.accounts:
            old = before.get(account.name)
            _diff("account", f"{name}/{account.name}", account_fields(old) if old else None,
                  account_fields(account), adds, changes)
        for gone in sorted(set(before) - {a.name for a in resource.accounts}):
            (removes if prune else kept).append(Change("remove", "account", f"{name}/{gone}"))
    for name in sorted(set(now) - set(wanted)):
        for account in now[name].accounts:
            (removes if prune else kept).append(Change("remove", "account", f"{name}/{account.name}"))
        (removes if prune else kept).append(Change("remove", "resource", name))
    for admin in sorted(set(current.admins) - set(desired.admins)):
        (removes if prune else kept).append(Change("remove", "admin", admin))
    return Plan(tuple(adds + changes + removes), tuple(f"{c.kind} {c.subject}" for c in kept))


def _diff(kind: str, subject: str, before: dict[str, Any] | None, after: dict[str, Any],
          adds: list[Change], changes: list[Change]) -> None:
    if before is None:
        adds.append(Change("add", kind, subject, tuple((k, None, v) for k, v in after.items() if _said(v))))
        return
    differs = tuple((k, before[k], v) for k, v in after.items() if before[k] != v)
    if differs:
        changes.append(Change("change", kind, subject, differs))


def _said(value: Any) -> bool:
    return value not in (None, "", [], False)


def admins_after(current: Iterable[str], desired: DesiredConfig, *, prune: bool) -> frozenset[str]:
    """The database admins once the file is applied."""
    return frozenset(desired.admins) | (frozenset() if prune else frozenset(current))
