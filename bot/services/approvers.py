"""Who may approve a request right now: named approvers, group members, else the admins."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.services.ports import Directory


def resolve_approvers(named: Iterable[str], group: str | None, *, directory: Directory,
                      admin_ids: Callable[[], frozenset[str]]) -> frozenset[str]:
    """Looked up at the moment of asking, so a change in the group counts at once."""
    people = frozenset(named) | (directory.group_members(group) if group else frozenset())
    return people or admin_ids()
