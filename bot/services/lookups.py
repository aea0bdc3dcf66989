"""Lookups the access use-cases share: the account asked for, the actor, the policy, a free ref."""

from __future__ import annotations

from bot.domain.errors import NotFound
from bot.domain.ids import new_request_ref
from bot.domain.policy import Actor, ApprovalPolicy
from bot.domain.text import closest, quote
from bot.services.base import Tx
from bot.services.ports import Directory, Person
from storage.models import Account, Resource


def find_account(tx: Tx, resource: str, account: str) -> tuple[Resource, Account]:
    """The account, or NotFound listing what exists (closest match first)."""
    found = tx.config.account(resource.lower(), account.lower())
    if found is not None:
        return found
    raise unknown_account(resource, account, [f"{r.name}/{a.name}" for r, a in tx.config.accounts()])


def unknown_account(resource: str, account: str, names: list[str]) -> NotFound:
    """NotFound for `resource/account`, listing `names` (the accounts the person may see), closest first."""
    if not names:
        return NotFound(f"There is no account {quote(f'{resource}/{account}')} you can ask for. "
                        "Ask a pam-bot admin.")
    listed = ", ".join(f"`{n}`" for n in closest(f"{resource}/{account}", names)[:10])
    return NotFound(f"There is no account {quote(f'{resource}/{account}')}. Accounts you can ask for: {listed}.")


def unused_ref(tx: Tx) -> str:
    """A request ref not taken yet (6 characters collide now and then; the column stays unique)."""
    while (ref := new_request_ref()) and tx.requests.by_ref(ref) is not None:
        continue
    return ref


def actor_of(person: Person) -> Actor:
    return Actor(user_id=person.user_id, team_id=person.team_id, is_bot=person.is_bot,
                 is_deleted=person.is_deleted, is_guest=person.is_guest, is_stranger=person.is_stranger)


def policy_of(acc: Account) -> ApprovalPolicy:
    return ApprovalPolicy(
        approver_ids=frozenset(acc.approver_ids or ()), approver_group=acc.approver_group,
        approvals_required=acc.approvals_required, auto_approve=acc.auto_approve,
        auto_approve_daily_limit=acc.auto_approve_daily_limit, require_reason=acc.require_reason)


class GroupCache:
    """The directory with group lookups remembered for one rendering (many accounts share a group)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.groups: dict[str, frozenset[str]] = {}

    def person(self, user_id: str) -> Person:
        return self.directory.person(user_id)

    def group_members(self, group_id: str) -> frozenset[str]:
        if group_id not in self.groups:
            self.groups[group_id] = self.directory.group_members(group_id)
        return self.groups[group_id]
