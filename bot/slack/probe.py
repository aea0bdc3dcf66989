"""The Slack side of `pam-bot doctor`: read-only Web API calls behind the services' SlackProbe port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.domain.errors import NotifyFailed
from bot.services.setup_slack import SlackFinding
from bot.slack.notifier import slack_call

_MISSING = {"channel_not_found", "user_not_found", "no_such_subteam", "subteam_not_found"}


class SlackWebProbe:
    """auth.test, conversations.info, users.info and usergroups.users.list; "not found" is an answer, not an error."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def auth(self) -> str:
        answer = slack_call(self.client.auth_test)
        return f"{answer.get('user') or answer.get('user_id')} in {answer.get('team') or answer.get('team_id')}"

    def channel(self, channel_id: str) -> SlackFinding:
        found = self._ask(lambda: self.client.conversations_info(channel=channel_id), "channel")
        if found is None:
            return SlackFinding(exists=False)
        return SlackFinding(exists=not found.get("is_archived"), is_member=bool(found.get("is_member")),
                            name=str(found.get("name") or ""))

    def user(self, user_id: str) -> SlackFinding:
        found = self._ask(lambda: self.client.users_info(user=user_id), "user")
        if found is None or found.get("deleted"):
            return SlackFinding(exists=False)
        return SlackFinding(exists=True, name=str(found.get("name") or ""))

    def group(self, group_id: str) -> SlackFinding:
        found = self._ask(lambda: self.client.usergroups_users_list(usergroup=group_id), "users")
        return SlackFinding(exists=found is not None)

    def _ask(self, call: Callable[[], Any], key: str) -> dict[str, Any] | None:
        try:
            answer = slack_call(call)
        except NotifyFailed as error:
            if error.code in _MISSING:
                return None
            raise
        value = answer.get(key)
        return value if isinstance(value, dict) else {"value": value}
