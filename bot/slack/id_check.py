"""The SlackIds port over the Web API: users.info, usergroups.users.list and conversations.info, failing closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.domain.eligibility import CheckFailed
from bot.domain.errors import InvalidInput, NotifyFailed
from bot.domain.text import quote
from bot.slack.notifier import slack_call

_UNKNOWN = {"user_not_found", "users_not_found", "no_such_subteam", "channel_not_found"}


class SlackIdCheck:
    """Asks Slack whether the ids an account names can work: a refusal is InvalidInput, trouble is CheckFailed."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def user(self, user_id: str, *, field: str) -> None:
        user = self._ask(lambda: self.client.users_info(user=user_id), field,
                         f"Slack does not know the user {quote(user_id)}: check the member id.", user_id)["user"]
        if user.get("deleted"):
            raise InvalidInput(f"<@{user_id}> ({quote(user_id)}) is deactivated in Slack: name someone else.",
                               field=field, code="slack_user_deactivated")
        if user.get("is_bot"):
            raise InvalidInput(f"{quote(user_id)} is a bot in Slack: name a person.", field=field,
                               code="slack_user_is_bot")

    def group(self, group_id: str, *, field: str) -> int:
        answer = self._ask(lambda: self.client.usergroups_users_list(usergroup=group_id), field,
                           f"Slack has no user group {quote(group_id)}: check the group id.", group_id)
        return len(answer.get("users") or ())

    def channel(self, channel_id: str, *, field: str) -> None:
        channel = self._ask(lambda: self.client.conversations_info(channel=channel_id), field,
                            f"Slack has no channel {quote(channel_id)} that pam-bot can see: check the id, and for "
                            "a private channel invite pam-bot first (/invite @pam-bot).", channel_id)["channel"]
        if channel.get("is_archived"):
            raise InvalidInput(f"<#{channel_id}> is archived: choose another approval channel.", field=field,
                               code="channel_archived")
        if not channel.get("is_member"):
            raise InvalidInput(f"pam-bot is not in <#{channel_id}> ({quote(channel_id)}), so it could not post "
                               "approval cards there: invite it with /invite @pam-bot, then try again.",
                               field=field, code="not_in_channel")

    @staticmethod
    def _ask(call: Callable[[], Any], field: str, unknown: str, subject: str) -> Any:
        try:
            return slack_call(call)
        except NotifyFailed as error:
            if error.code in _UNKNOWN:
                raise InvalidInput(unknown, field=field, code="unknown_slack_id",
                                   detail=f"{subject}: {error.code}") from error
            raise CheckFailed(f"pam-bot could not check {quote(subject)} with Slack ({error.code}), so nothing was "
                              "saved. Try again in a minute; check SLACK_BOT_TOKEN and SLACK_API_URL if it persists.",
                              code="slack_check_failed", detail=f"{subject}: {error.code}") from error
