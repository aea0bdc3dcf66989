"""Slack adapters for the services' ports: the notifier and the user directory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.eligibility import CheckFailed
from bot.domain.errors import NotFound, NotifyFailed
from bot.domain.text import quote
from bot.services.ports import Person, RequestView
from bot.slack import messages

log = logging.getLogger(__name__)

HINTS = {
    "channel_not_found": "the approval channel does not exist; an admin should pick another one",
    "not_in_channel": "pam-bot is not in the approval channel; invite it with /invite @pam-bot",
    "is_archived": "the approval channel is archived; an admin should pick another one",
    "user_not_found": "Slack does not know that user",
    "ratelimited": "Slack is rate-limiting pam-bot; try again in a minute",
    "internal_error": "Slack had a server error; try again in a minute",
    "service_unavailable": "Slack is unavailable right now; try again in a minute",
    "fatal_error": "Slack had a server error; try again in a minute",
}


def slack_call(send: Callable[[], Any]) -> Any:
    """Run one Web API call; turn Slack's refusals and network trouble into NotifyFailed."""
    try:
        return send()
    except SlackApiError as error:
        code = str(error.response.get("error", "slack_error"))
        raise NotifyFailed(f"Slack refused the message: {HINTS.get(code, code)}.", code=code,
                           detail=code) from error
    except (SlackClientError, OSError) as error:
        raise NotifyFailed("Slack did not answer in time or could not be reached; try again in a minute.",
                           code="slack_unreachable",
                           detail=type(error).__name__) from error


class SlackDirectory:
    """People and groups, straight from Slack at the moment of asking."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def person(self, user_id: str) -> Person:
        try:
            user = slack_call(lambda: self.client.users_info(user=user_id))["user"]
        except NotifyFailed as error:
            if error.code == "user_not_found":
                raise NotFound(f"Slack does not know user {quote(user_id)}.") from error
            raise
        return Person(
            user_id=user["id"], team_id=user.get("team_id", ""), name=user.get("name", ""),
            email=(user.get("profile") or {}).get("email"),
            is_bot=bool(user.get("is_bot")) or user["id"] == "USLACKBOT",
            is_deleted=bool(user.get("deleted")),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            is_stranger=bool(user.get("is_stranger")),
            tz_offset=int(user.get("tz_offset") or 0),
        )

    def group_members(self, group_id: str) -> frozenset[str]:
        try:
            response = slack_call(lambda: self.client.usergroups_users_list(usergroup=group_id))
        except NotifyFailed as error:
            log.warning("user group %s could not be read: %s", group_id, error.code)
            raise CheckFailed(f"pam-bot could not read the user group <!subteam^{group_id}> "
                              f"({error.code}), so it cannot check who is in it; nothing was done. "
                              "Try again in a minute, or ask a pam-bot admin to check the group.",
                              code="group_unreadable", detail=f"{group_id}: {error.code}") from error
        return frozenset(response.get("users") or ())


class SlackNotifier:
    """What is still sent directly, not through the outbox: the console link's DM (a bearer secret, never stored);
    the link only ever goes to the requester's DM."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send_console_link(self, view: RequestView, link: str) -> dict[str, str]:
        channel = str(slack_call(lambda: self.client.conversations_open(users=view.request.requester_id))
                      ["channel"]["id"])
        message = messages.console_link_message(view, link)
        response = slack_call(lambda: self.client.chat_postMessage(channel=channel, **message))
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}
