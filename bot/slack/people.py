"""The directory with members remembered a few minutes, for the people who act again and again (approvers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.services.ports import Directory, Person
from bot.slack.guard import MEMBER_TTL_SECONDS

MAX_REMEMBERED = 10_000  # people at most; the oldest go first beyond it


class RememberedPeople:
    """`person()` through users.info once per person per `ttl`; the installation guard's member check
    (bot/slack/guard.py) looks people up through it too, so one lookup serves the check and the ask.

    Only plain members are remembered: a bot, a deactivated account, a guest or a stranger is asked about every
    time, and so is anyone whose lookup failed. Group membership is never remembered: it decides who may approve.
    The grant's own check of the requester does not come through here (GrantService asks Slack each time).
    """

    def __init__(self, directory: Directory, *, ttl: float = MEMBER_TTL_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.directory, self.ttl, self.now = directory, ttl, now
        self._known: dict[str, tuple[float, Person]] = {}
        self._lock = threading.Lock()

    def person(self, user_id: str) -> Person:
        with self._lock:
            until, person = self._known.get(user_id, (float("-inf"), None))
        if person is not None and until > self.now():
            return person
        person = self.directory.person(user_id)
        if not (person.is_bot or person.is_deleted or person.is_guest or person.is_stranger):
            with self._lock:
                self._known.pop(user_id, None)
                self._known[user_id] = (self.now() + self.ttl, person)
                while len(self._known) > MAX_REMEMBERED:
                    del self._known[next(iter(self._known))]
        return person

    def group_members(self, group_id: str) -> frozenset[str]:
        return self.directory.group_members(group_id)
