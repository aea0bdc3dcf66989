"""Read models: frozen copies of stored rows, what the services hand to renderers (never the ORM rows).

Attribute names are the columns' names, so code that reads a view reads it the same way. `of(row)` copies a
row inside its transaction; a read model never loads anything later and never writes back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.domain.states import RequestStatus, SessionStatus

if TYPE_CHECKING:  # importing this module must not load storage (bot/slack imports it)
    from sqlalchemy import Row

    from storage.models import AccessRequest, AccessSession, Account, AuditEvent, Decision, Resource


def _columns(cls: type, row: object, **converted: Any) -> dict[str, Any]:
    """Every field of `cls` read from the row's attribute of the same name; `converted` overrides some."""
    return {name: converted[name] if name in converted else getattr(row, name) for name in _names(cls)}


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class ResourceRead:
    """A resource (an AWS account connection) as renderers see it."""

    id: int
    name: str
    role_arn: str
    description: str
    source_identity: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Resource) -> ResourceRead:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class AccountRead:
    """An account (a Target Role with its approval policy) as renderers see it."""

    id: int
    resource_id: int
    name: str
    role_arn: str
    description: str
    default_duration_seconds: int
    approver_ids: tuple[str, ...]
    approver_group: str | None
    approvals_required: int
    approval_channel: str | None
    auto_approve: bool
    auto_approve_daily_limit: int | None
    require_reason: bool
    revocation_enabled: bool
    requesters_everyone: bool
    requester_ids: tuple[str, ...]
    requester_group: str | None
    break_glass: bool
    escalate_to: str | None
    max_extensions: int
    extend_without_approval: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Account | Row[Any]) -> AccountRead:
        """From the ORM object or from a Core row of the accounts table (`ConfigRepository.account_rows`)."""
        return cls(**_columns(cls, row, approver_ids=tuple(row.approver_ids or ()),
                              requester_ids=tuple(row.requester_ids or ())))


@dataclass(frozen=True)
class RequestRead:
    """An access request as renderers and the notifier see it."""

    id: int
    ref: str
    requester_id: str
    team_id: str
    account_id: int | None
    resource_name: str
    account_name: str
    resource_role_arn: str
    target_role_arn: str
    duration_seconds: int
    reason: str
    status: RequestStatus
    approvals_required: int
    auto_approved: bool
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    reminded_at: datetime | None
    reminders_sent: int
    starts_at: datetime | None
    extends: str | None
    grant_attempts: int
    notice_failures: int
    cards: tuple[dict[str, str], ...]  # [{channel, ts}] of the approval cards
    failure_code: str | None
    failure_message: str | None
    break_glass: bool
    review: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None

    @classmethod
    def of(cls, row: AccessRequest) -> RequestRead:
        return cls(**_columns(cls, row, cards=tuple(dict(card) for card in row.cards or ())))


@dataclass(frozen=True)
class DecisionRead:
    """One approver's verdict on a request."""

    id: int
    request_id: int
    approver_id: str
    team_id: str
    verdict: str
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, row: Decision) -> DecisionRead:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class SessionRead:
    """A session (what a granted request became) as renderers and the notifier see it."""

    id: int
    ref: str
    request_id: int
    requester_id: str
    account_id: int | None
    resource_name: str
    account_name: str
    resource_role_arn: str
    target_role_arn: str
    role_session_name: str
    assumed_role_arn: str
    status: SessionStatus
    started_at: datetime
    expires_at: datetime
    warned_at: datetime | None
    ended_at: datetime | None
    revoked_by: str | None
    revocation_applied: bool
    continues: str | None
    extension: int
    notice_failures: int
    revocation_enabled: bool
    aws_user_id: str | None
    source_identity: str | None
    revoke_attempts: int
    revoke_due_at: datetime | None
    revoke_error: str | None
    link_channel: str | None
    link_ts: str | None
    link_lost_at: datetime | None

    @classmethod
    def of(cls, row: AccessSession) -> SessionRead:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class AuditRead:
    """One audit event as `/pam audit` shows it."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    scheme: str

    @classmethod
    def of(cls, row: AuditEvent) -> AuditRead:
        return cls(**_columns(cls, row, details=dict(row.details or {})))
