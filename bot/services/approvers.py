"""Who may approve a request right now, and who may ask for an account: looked up live, failing closed."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.domain.eligibility import CheckFailed, Requesters
from bot.services.ports import Directory
from bot.services.read_models import AccountRead
from storage.models import Account


def resolve_approvers(named: Iterable[str], group: str | None, *, directory: Directory,
                      admin_ids: Callable[[], frozenset[str]]) -> frozenset[str]:
    """Looked up at the moment of asking, so a change in the group counts at once.

    The admins approve only an account that names no approvers at all. A group that cannot be read, or that
    is empty while nobody else is named, refuses (CheckFailed): it never falls back to a wider set of people.
    """
    people = frozenset(named)
    if not people and not group:
        return admin_ids()
    members = directory.group_members(group) if group else frozenset()
    if group and not members and not people:
        raise CheckFailed(f"Nobody can approve right now: the approver group <!subteam^{group}> is empty. "
                          "Ask a pam-bot admin to add members or name approvers.", code="approver_group_empty")
    return people | members


def requesters_of(account: Account | AccountRead) -> Requesters:
    """The account's requester rule as the domain sees it (one saved without any admits nobody)."""
    return Requesters(everyone=account.requesters_everyone, user_ids=frozenset(account.requester_ids or ()),
                      group=account.requester_group)


def who_can_help(account: Account) -> str:
    """The sentence a refused requester reads: the named approvers, else the admins."""
    approvers = sorted(account.approver_ids or ())[:5]
    if approvers:
        return f"Ask {', '.join(f'<@{a}>' for a in approvers)} or a pam-bot admin to add you."
    return "Ask a pam-bot admin to add you."
