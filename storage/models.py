"""SQLAlchemy 2 typed models: configuration, requests, decisions, sessions, audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, false, inspect, text
from sqlalchemy.orm import DeclarativeBase, InstanceState, Mapped, mapped_column, validates

from bot.domain.states import RequestStatus, SessionStatus, StatusT, require_transition
from storage.types import StatusType, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (migrations rely on them)."""

    metadata = MetaData(naming_convention=NAMING)


class InstallationSetting(Base):
    """Key/value settings of this installation (the generated ExternalId lives here)."""

    __tablename__ = "installation_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Interaction(Base):
    """A Slack request the web path acknowledged, waiting for a worker; deleted once handled.

    `lease_until` is set when a worker claims the row and renewed while it works: a row whose lease ran out
    belonged to a worker that died, and the next claim takes it again (`attempts` counts the claims).
    """

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_lease_until_id", "lease_until", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # slash_command, block_actions, view_submission, event_callback
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # Slack's payload without its verification token
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Admin(Base):
    """Admins added in Slack, on top of those in PAM_ADMINS."""

    __tablename__ = "admins"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Resource(Base):
    """An AWS account connection reached through its Resource Role."""

    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    role_arn: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(Text, default="")
    source_identity: Mapped[bool] = mapped_column(default=False)  # both hops set SourceIdentity to the person
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Account(Base):
    """A Target Role people get in the console, with its approval policy."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("resource_id", "name", name="uq_accounts_resource_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    role_arn: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(Text, default="")
    default_duration_seconds: Mapped[int] = mapped_column(Integer)
    approver_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    approver_group: Mapped[str | None] = mapped_column(String(32))
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    approval_channel: Mapped[str | None] = mapped_column(String(32))
    auto_approve: Mapped[bool] = mapped_column(default=False)
    auto_approve_daily_limit: Mapped[int | None] = mapped_column(Integer)
    require_reason: Mapped[bool] = mapped_column(default=False)
    revocation_enabled: Mapped[bool] = mapped_column(default=False)
    # Who may ask: everyone, or the named people and/or the members of one user group (said explicitly).
    requesters_everyone: Mapped[bool] = mapped_column(default=False, server_default=false())
    requester_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    requester_group: Mapped[str | None] = mapped_column(String(32))
    break_glass: Mapped[bool] = mapped_column(default=False, server_default=false())  # `/pam break-glass` allowed
    escalate_to: Mapped[str | None] = mapped_column(String(32))  # channel (C…/G…) or group (S…) the last reminder wakes
    max_extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # per session chain
    extend_without_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


OPEN_REQUEST = "status IN ('pending', 'approved')"
UNREVIEWED = "break_glass AND review IS NULL"
SCHEDULED = "status = 'approved' AND starts_at IS NOT NULL"


class AccessRequest(Base):
    """One person's ask for one account; names are copied so history survives deletions."""

    __tablename__ = "access_requests"
    __table_args__ = (
        Index("ix_access_requests_status_created", "status", "created_at"),
        Index("ix_access_requests_requester", "requester_id", "status"),
        # One open request per person and account, whatever the races: the database says no to the second.
        # Approved requests waiting for their start: the scheduled-start sweep's index.
        Index("ix_access_requests_scheduled", "starts_at",
              postgresql_where=text(SCHEDULED), sqlite_where=text(SCHEDULED)),
        # Break-glass grants nobody has reviewed yet: the reminder sweep's index.
        Index("ix_access_requests_unreviewed", "created_at",
              postgresql_where=text(UNREVIEWED), sqlite_where=text(UNREVIEWED)),
        Index("uq_access_requests_open", "requester_id", "account_id", unique=True,
              postgresql_where=text(OPEN_REQUEST), sqlite_where=text(OPEN_REQUEST)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    resource_name: Mapped[str] = mapped_column(String(32))
    account_name: Mapped[str] = mapped_column(String(32))
    resource_role_arn: Mapped[str] = mapped_column(String(2048))
    target_role_arn: Mapped[str] = mapped_column(String(2048))
    duration_seconds: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(StatusType(RequestStatus))
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    auto_approved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # scheduled access: granted at this moment
    extends: Mapped[str | None] = mapped_column(String(16))  # the session (S-…) this request would continue
    grant_attempts: Mapped[int] = mapped_column(Integer, default=0)
    notice_failures: Mapped[int] = mapped_column(Integer, default=0)
    cards: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # [{channel, ts}] of approval cards
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    # Break-glass: granted without approval, reviewed afterwards by an approver (`reviewed` or `flagged`).
    break_glass: Mapped[bool] = mapped_column(default=False, server_default=false())
    review: Mapped[str | None] = mapped_column(String(16))
    reviewed_by: Mapped[str | None] = mapped_column(String(32))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @validates("status")
    def _move(self, key: str, value: str) -> RequestStatus:
        return _checked(self.status if _stored(self) else None, RequestStatus(value))


class Decision(Base):
    """One approver's verdict on a request (one per approver)."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("request_id", "approver_id", name="uq_decisions_request_approver"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id", ondelete="CASCADE"))
    approver_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    verdict: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# An active session whose link DM has neither landed (link_ts) nor been given up on (link_lost_at).
LINK_UNSETTLED = "status = 'active' AND link_ts IS NULL AND link_lost_at IS NULL"


class AccessSession(Base):
    """What a granted request became; `role_session_name` joins CloudTrail events to it."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_due_warning", "expires_at",
              postgresql_where=text("status = 'active' AND warned_at IS NULL"),
              sqlite_where=text("status = 'active' AND warned_at IS NULL")),
        Index("ix_sessions_active_expiry", "expires_at",
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        Index("ix_sessions_requester", "requester_id", "status"),
        Index("ix_sessions_revoke_due", "revoke_due_at",
              postgresql_where=text("status = 'revoking'"), sqlite_where=text("status = 'revoking'")),
        Index("ix_sessions_link_unsettled", "started_at",
              postgresql_where=text(LINK_UNSETTLED), sqlite_where=text(LINK_UNSETTLED)),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id", ondelete="CASCADE"), unique=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    resource_name: Mapped[str] = mapped_column(String(32))
    account_name: Mapped[str] = mapped_column(String(32))
    resource_role_arn: Mapped[str] = mapped_column(String(2048))
    target_role_arn: Mapped[str] = mapped_column(String(2048))
    role_session_name: Mapped[str] = mapped_column(String(64), index=True)
    assumed_role_arn: Mapped[str] = mapped_column(String(2048))
    status: Mapped[SessionStatus] = mapped_column(StatusType(SessionStatus))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revocation_applied: Mapped[bool] = mapped_column(default=False)
    continues: Mapped[str | None] = mapped_column(String(16))  # an extension: the session (S-…) it carries on
    extension: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 first, 1 its first extension…
    notice_failures: Mapped[int] = mapped_column(Integer, default=0)
    # What revoking needs, kept on the session so it survives changes to (or removal of) the account.
    revocation_enabled: Mapped[bool] = mapped_column(default=False)
    aws_user_id: Mapped[str | None] = mapped_column(String(160))  # aws:userid, `<role id>:<session name>`
    source_identity: Mapped[str | None] = mapped_column(String(64))
    revoke_attempts: Mapped[int] = mapped_column(Integer, default=0)
    revoke_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # next try while `revoking`
    revoke_error: Mapped[str | None] = mapped_column(String(64))  # AWS code of the last failed try
    link_channel: Mapped[str | None] = mapped_column(String(32))  # the DM that carries the sign-in link
    link_ts: Mapped[str | None] = mapped_column(String(32))
    # When pam-bot gave up on the link's DM (Slack refused it, or the process holding the link stopped) and
    # offered the requester a "Get a new link" button instead; never set for a link that landed.
    link_lost_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @validates("status")
    def _move(self, key: str, value: str) -> SessionStatus:
        return _checked(self.status if _stored(self) else None, SessionStatus(value))


def _checked(current: StatusT | None, new: StatusT) -> StatusT:
    """A status set on a stored row (a sweep's mark on a row it holds) obeys the declared table like the
    repositories' conditional UPDATEs do; a row not yet stored (`current` None) may start in any status."""
    if current is not None:
        require_transition(current, new)
    return new


def _stored(row: Base) -> bool:
    state: InstanceState[Base] = inspect(row)
    return state.has_identity


class AuditEvent(Base):
    """Append-only, hash-chained record of every action, refused ones included."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_actor_at", "actor", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scheme: Mapped[str] = mapped_column(String(16), default="sha256", server_default="sha256")  # or hmac-sha256


class AuditCheckpoint(Base):
    """A signed note of the chain's head (id, hash, count): shows when the newest events were cut off."""

    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    head_id: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))


class AuditSinkCursor(Base):
    """How far one audit sink has accepted the trail; advanced only after the sink said yes."""

    __tablename__ = "audit_sink_cursors"
    sink: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    last_checkpoint_id: Mapped[int] = mapped_column(Integer, default=0)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


QUEUED_DELIVERY = "state = 'queued'"


class Delivery(Base):
    """One Slack call the outbox owes: a message, an update or a Home publish, rendered when it was queued.

    `state` is `queued` until Slack took it (`done`, with `result` the channel/ts that landed) or refused it
    for good (`failed`, `error_code`). `sending_since` marks an attempt whose outcome is unknown (a worker died
    or timed out mid-call): the next attempt looks for the message before posting again. `dedupe_key` names a
    latest-state row (a card, a Home tab): a newer one replaces the payload of a queued row with that key.
    Never holds a console link or credentials.
    """

    __tablename__ = "deliveries"
    # Only queued rows are looked for by due time or key: the indexes leave settled rows out.
    __table_args__ = (Index("ix_deliveries_queued_due", "due_at", "id",
                            postgresql_where=text(QUEUED_DELIVERY), sqlite_where=text(QUEUED_DELIVERY)),
                      Index("ix_deliveries_queued_key", "dedupe_key", "id",
                            postgresql_where=text(QUEUED_DELIVERY), sqlite_where=text(QUEUED_DELIVERY)))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # post, dm, update, publish
    channel: Mapped[str] = mapped_column(String(32))  # a conversation; a user id for dm and publish
    ts: Mapped[str | None] = mapped_column(String(32))  # the message to update, or the thread to post in
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(160))
    request_id: Mapped[int | None] = mapped_column(Integer)  # a card post: its landed ref joins request.cards
    report_to: Mapped[str | None] = mapped_column(String(32))  # who hears of a permanent failure
    state: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sending_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
