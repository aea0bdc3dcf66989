"""An account's Slack ids checked against Slack: people, groups and the approval channel, each asked once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.errors import PamError
from bot.services.account_spec import AccountSpec
from bot.services.ports import SlackIds


def check_slack_ids(spec: AccountSpec, slack: SlackIds) -> int | None:
    """Ask Slack about every id `spec` names; return the approver group's size (None without a group)."""
    for user_id in spec.approver_ids:
        slack.user(user_id, field="approvers")
    for user_id in spec.requester_ids:
        slack.user(user_id, field="requesters")
    if spec.requester_group:
        slack.group(spec.requester_group, field="requester_group")
    size = slack.group(spec.approver_group, field="approver_group") if spec.approver_group else None
    if spec.approval_channel:
        slack.channel(spec.approval_channel, field="approval_channel")
    return size


class RememberingSlackIds:
    """A SlackIds that asks Slack about each id once (answers and refusals alike): for one `apply` run."""

    def __init__(self, inner: SlackIds) -> None:
        self.inner = inner
        self.answers: dict[tuple[str, str], Any] = {}

    def user(self, user_id: str, *, field: str) -> None:
        self._once("user", user_id, lambda: self.inner.user(user_id, field=field))

    def group(self, group_id: str, *, field: str) -> int:
        return int(self._once("group", group_id, lambda: self.inner.group(group_id, field=field)))

    def channel(self, channel_id: str, *, field: str) -> None:
        self._once("channel", channel_id, lambda: self.inner.channel(channel_id, field=field))

    def _once(self, kind: str, key: str, ask: Callable[[], Any]) -> Any:
        if (kind, key) not in self.answers:
            try:
                self.answers[(kind, key)] = ask()
            except PamError as error:
                self.answers[(kind, key)] = error
        answer = self.answers[(kind, key)]
        if isinstance(answer, PamError):
            raise answer
        return answer
