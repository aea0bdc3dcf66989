"""Who may ask for an account: everyone, named people, or a user group's members — decided as a value."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidInput, NotAllowed

EVERYONE = "everyone"
_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_GROUP = re.compile(r"^S[A-Z0-9]{2,31}$")


class CheckFailed(NotAllowed):
    """A check that must pass could not be made (Slack unreachable, a group unreadable): refused, never waved."""

    code = "check_failed"


@dataclass(frozen=True)
class Requesters:
    """Who may request an account: everyone, or named people and/or one user group; nobody when all are empty."""

    everyone: bool = False
    user_ids: frozenset[str] = frozenset()
    group: str | None = None

    def __post_init__(self) -> None:
        if self.everyone and (self.user_ids or self.group):
            raise InvalidInput("Requesters are either everyone, or named people and/or a user group — not both.",
                               field="requesters")
        for user_id in self.user_ids:
            if not _USER.match(user_id):
                raise InvalidInput(f"`{user_id[:40]}` is not a Slack user id (U… or W…).", field="requesters")
        if self.group is not None and not _GROUP.match(self.group):
            raise InvalidInput(f"`{self.group[:40]}` is not a Slack user group id (S…).", field="requester_group")

    @classmethod
    def build(cls, people: Iterable[str] | str = (), group: str | None = None) -> Requesters:
        """From the CLI's and modals' words: `everyone`, or user ids (a list or comma-separated), and a group."""
        if isinstance(people, str):
            people = people.split(",")
        names = [p.strip() for p in people if p and p.strip()]
        group = (group or "").strip() or None
        if [n.lower() for n in names] == [EVERYONE]:
            return cls(everyone=True, group=group)
        if not names and not group:
            raise InvalidInput("Say who may request this account: named people, a user group, or everyone.",
                               field="requesters")
        return cls(user_ids=frozenset(names), group=group)

    @property
    def nobody(self) -> bool:
        return not (self.everyone or self.user_ids or self.group)

    def describe(self) -> str:
        """`everyone`, `<@U1>, <@U2>`, `members of <!subteam^S1>` — for messages (mrkdwn)."""
        if self.everyone:
            return "everyone in the workspace"
        if self.nobody:
            return "nobody"
        parts = [f"<@{u}>" for u in sorted(self.user_ids)]
        if self.group:
            parts.append(f"members of <!subteam^{self.group}>")
        return ", ".join(parts)


class Why(StrEnum):
    """Why someone may, or may not, ask for an account (recorded in the audit trail)."""

    EVERYONE = "open_to_everyone"
    NAMED = "named_requester"
    GROUP_MEMBER = "requester_group_member"
    NOT_LISTED = "not_a_requester"


@dataclass(frozen=True)
class Eligibility:
    """The decision for one person and one account."""

    eligible: bool
    why: Why


def eligibility(requesters: Requesters, user_id: str, *,
                group_members: Callable[[str], frozenset[str]]) -> Eligibility:
    """Decide; `group_members` raises CheckFailed when the group cannot be read, and that refusal propagates."""
    if requesters.everyone:
        return Eligibility(True, Why.EVERYONE)
    if user_id in requesters.user_ids:
        return Eligibility(True, Why.NAMED)
    if requesters.group and user_id in group_members(requesters.group):
        return Eligibility(True, Why.GROUP_MEMBER)
    return Eligibility(False, Why.NOT_LISTED)


def ensure_eligible(decision: Eligibility, *, target: str, helpers: str) -> None:
    """NotAllowed naming who can help, unless `decision` is eligible."""
    if not decision.eligible:
        raise NotAllowed(f"You may not request {target}. {helpers}", code=decision.why.value)
