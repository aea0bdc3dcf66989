"""Doctor's Slack checks: the token works, the bot is in every approval channel, approvers and groups exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from bot.domain.errors import NotifyFailed
from bot.services.read_models import AccountRead, ResourceRead
from bot.services.setup_hints import slack_network_hint


@dataclass(frozen=True)
class SlackFinding:
    """What Slack said about one channel, person or group."""

    exists: bool
    is_member: bool = True
    name: str = ""


class SlackProbe(Protocol):
    """The read-only Slack calls doctor makes (auth.test, conversations.info, users.info, usergroups.users.list)."""

    def auth(self) -> str: ...

    def channel(self, channel_id: str) -> SlackFinding: ...

    def user(self, user_id: str) -> SlackFinding: ...

    def group(self, group_id: str) -> SlackFinding: ...


CheckTuple = tuple[str, bool, str, str]  # subject, ok, detail, fix


def slack_checks(probe: SlackProbe, accounts: list[tuple[ResourceRead, AccountRead]],
                 default_channel: str | None) -> Iterator[CheckTuple]:
    """One check for the token, then one per approval channel, approver and group named by any account."""
    try:
        yield "Slack token", True, f"auth.test: pam-bot is {probe.auth()}.", ""
    except NotifyFailed as error:
        yield ("Slack token", False, f"auth.test failed ({error.code}).",
               slack_network_hint(error.code) or "Check SLACK_BOT_TOKEN: the bot token (xoxb-) of this app, "
               "current since its last reinstall.")
        return
    channels = {a.approval_channel for _, a in accounts if a.approval_channel} | (
        {default_channel} if default_channel else set())
    for channel in sorted(channels):
        yield _one(f"approval channel {channel}", lambda c=channel: probe.channel(c),
                   ok=lambda f, c=channel: f"pam-bot is a member of #{f.name or c}.",
                   missing=f"Slack does not know channel {channel}, or it is private without pam-bot.",
                   fix=f"Invite pam-bot (/invite @pam-bot) or name another channel than {channel}.")
    users = sorted({u for _, a in accounts for u in a.approver_ids})
    for user in users:
        yield _one(f"approver {user}", lambda u=user: probe.user(u), ok=lambda f, u=user: f"Slack knows {f.name or u}.",
                   missing=f"Slack does not know approver {user}, or the account was deactivated.",
                   fix=f"Replace {user} in the approvers of every account that names it.")
    groups = sorted({g for _, a in accounts for g in (a.approver_group, a.requester_group) if g})
    for group in groups:
        yield _one(f"user group {group}", lambda g=group: probe.group(g), ok=lambda f: "Slack knows the group.",
                   missing=f"Slack does not know user group {group}.",
                   fix=f"Name an existing user group (S…) instead of {group}.")


def _one(subject: str, ask, *, ok, missing: str, fix: str) -> CheckTuple:  # type: ignore[no-untyped-def]
    try:
        found: SlackFinding = ask()
    except NotifyFailed as error:
        return subject, False, f"Slack refused ({error.code}).", slack_network_hint(error.code) or fix
    if not found.exists:
        return subject, False, missing, fix
    if not found.is_member:
        return subject, False, "pam-bot is not a member: its approval cards would fail with not_in_channel.", fix
    return subject, True, ok(found), ""
