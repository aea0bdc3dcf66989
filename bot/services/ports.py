"""Ports the services depend on; adapters in bot/aws and bot/slack implement them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.domain.errors import NotifyFailed
from bot.services.read_models import DecisionRead, RequestRead, SessionRead


@dataclass(frozen=True)
class Credentials:
    """Temporary AWS credentials; never logged, never stored."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)


@dataclass(frozen=True)
class Grant:
    """What a successful role chain returns: who, which assumed role, until when, and the credentials."""

    session_name: str
    assumed_role_arn: str
    expires_at: datetime  # timezone-aware UTC, the Expiration STS returned for hop 2
    credentials: Credentials = field(repr=False)
    aws_request_ids: tuple[str, ...] = ()  # of both AssumeRoles, as CloudTrail records them (`requestID`)
    aws_user_id: str = ""  # aws:userid of the hop-2 session, `<role id>:<session name>`: what a deny names
    source_identity: str | None = None  # set on both hops when the resource asks for it


class AccessBroker(Protocol):
    """The AWS side: role chaining, console links, revocation."""

    external_id: str

    def caller_identity(self) -> str:
        """ARN of the bot's own AWS principal (sts:GetCallerIdentity)."""

    def validate_resource(self, resource_role_arn: str, *, source_identity: bool = False) -> None:
        """Assume the Resource Role with the ExternalId (and a SourceIdentity); raise AwsError when AWS refuses."""

    def validate_account(self, resource_role_arn: str, target_role_arn: str, *,
                         source_identity: bool = False) -> None:
        """Chain Resource Role → Target Role; raise AwsError when AWS refuses."""

    def target_trust_policy(self, resource_role_arn: str, target_role_arn: str) -> dict[str, Any]:
        """The Target Role's trust policy, read with iam:GetRole through the Resource Role (hop 1)."""

    def own_role_path(self, caller_arn: str) -> str | None:
        """The IAM path of pam-bot's own role when it runs as one and may iam:GetRole it; else None."""

    def grant(self, *, resource_role_arn: str, target_role_arn: str, session_name: str,
              duration_seconds: int, source_identity: str | None = None) -> Grant:
        """Chain both hops with the grant's role session name (and SourceIdentity); return hop-2 credentials."""

    def console_link(self, grant: Grant) -> str:
        """Federation sign-in URL for the grant's credentials (a bearer secret)."""

    def revoke_session(self, *, resource_role_arn: str, target_role_arn: str, session_name: str,
                       aws_user_id: str | None, expires_at: datetime, now: datetime) -> None:
        """Deny the one role session (its aws:userid) on the target role until its credentials expire."""

    def prune_revocations(self, *, resource_role_arn: str, target_role_arn: str, now: datetime) -> int:
        """Remove revocation statements that can no longer match; return how many went."""


@dataclass(frozen=True, slots=True)  # slots: thousands are remembered (bot/slack/people.py)
class Person:
    """A Slack user as the directory reports them (users.info), identified by the immutable user id."""

    user_id: str
    team_id: str
    name: str = ""
    enterprise_id: str | None = None  # the Enterprise Grid organisation the person belongs to, if any
    email: str | None = None
    is_bot: bool = False
    is_deleted: bool = False
    is_guest: bool = False
    is_stranger: bool = False  # a Slack Connect member of another organisation
    tz_offset: int = 0  # seconds east of UTC in the person's Slack time zone (users.info `tz_offset`)


class Directory(Protocol):
    """Who people are and which groups they are in (Slack users.info / usergroups.users.list)."""

    def person(self, user_id: str) -> Person:
        """Look a user up; raise NotFound when Slack does not know them."""

    def group_members(self, group_id: str) -> frozenset[str]:
        """User ids in a Slack user group; raise CheckFailed when the group cannot be read (never guess)."""


class SlackIds(Protocol):
    """Whether Slack ids name something an account can work with; InvalidInput when not, CheckFailed when Slack
    could not be asked (never guess)."""

    def user(self, user_id: str, *, field: str) -> None:
        """An active person Slack knows (users.info)."""

    def group(self, group_id: str, *, field: str) -> int:
        """A user group Slack knows (usergroups.users.list); return how many members it has."""

    def channel(self, channel_id: str, *, field: str) -> None:
        """A channel pam-bot can post approval cards to (conversations.info: exists, not archived, pam-bot in it)."""


class Notifier(Protocol):
    """Tells people what happened; every method raises NotifyFailed when Slack would not take it."""

    def queue_request_cards(self, view: RequestView) -> None:
        """Queue the first approval card(s) in the caller's transaction, the one that makes the request (a rollback
        queues none); each card's {channel, ts} joins the request when it lands. Raise NotifyFailed when nobody
        could get one, CheckFailed when the approvers cannot be read."""

    def update_request_cards(self, view: RequestView, *, after: float = 0.0) -> None:
        """Re-render every card of the request in its current state (buttons gone once decided); `after` seconds
        from now, unless a newer state is queued meanwhile, which replaces this one and goes at once."""

    def send_console_link(self, view: RequestView, link: str) -> dict[str, str]:
        """DM the requester the sign-in link (the only place a link ever goes); return the DM's {channel, ts}."""

    def find_console_link(self, view: RequestView) -> dict[str, str] | None:
        """Where a link DM an earlier try posted landed, if it did (its answer lost to a timeout); no secret."""

    def offer_new_link(self, view: RequestView) -> None:
        """DM the requester a "Get a new link" button, when the link itself could not be delivered."""

    def close_link_message(self, view: RequestView, channel: str, ts: str) -> None:
        """Replace the DM that carried the sign-in link with a note that the session is over."""

    def tell_requester(self, view: RequestView, event: str) -> None:
        """DM the requester what became of their request (denied, failed, expired, cancelled, revoked...)."""

    def alert_break_glass(self, view: RequestView) -> None:
        """DM every approver and admin that someone took access by break-glass (never the link)."""

    def remind_break_glass(self, view: RequestView) -> None:
        """Bring an unreviewed break-glass up again in its card's thread, mentioning the approvers."""

    def remind_approvers(self, view: RequestView, *, final: bool = False) -> None:
        """Nudge approvers about a request still pending; the `final` reminder also wakes `view.escalate_to`."""

    def tell_approvers(self, view: RequestView, event: str) -> None:
        """Tell the approvers, in the card's thread, what became of a request they approved (failed...)."""

    def warn_expiry(self, view: RequestView) -> None:
        """DM the requester that the session ends soon, with a Request again button."""

    def announce_end(self, view: RequestView) -> None:
        """DM the requester that the session has ended."""

    def tell_admins(self, view: RequestView, event: str) -> None:
        """Tell pam-bot's admins (their channel, else each by DM) about something they must act on."""


class LinkCourier(Protocol):
    """Keeps retrying, in memory only, a console link's DM that Slack did not take at once."""

    def hold(self, label: str, send: Callable[[], dict[str, str]], *, until: datetime, first_error: NotifyFailed,
             sent: Callable[[dict[str, str]], object], lost: Callable[[NotifyFailed], object]) -> bool:
        """Retry `send` until `until`; `sent(where)` once it lands, `lost(error)` when it never will; False
        when the link cannot be held (the caller gives up on it at once)."""


@dataclass(frozen=True)
class RequestView:
    """A request with what renderers need: its decisions, session and who may approve (read models, not rows)."""

    request: RequestRead
    decisions: tuple[DecisionRead, ...] = ()
    session: SessionRead | None = None
    approver_ids: frozenset[str] = frozenset()
    approver_group: str | None = None
    channel: str | None = None  # the account's approval channel, if it has one
    escalate_to: str | None = None  # a channel (C…/G…) or user group (S…) the last reminder wakes
    max_extensions: int = 0  # how many times a session of the account may be extended
