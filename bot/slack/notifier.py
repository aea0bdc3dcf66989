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
LINK_EVENT = "pam_console_link"  # the link DM's metadata type; its payload names the session, never the link
# Slack's error codes that mean "not now" rather than "never" (whatever the HTTP status says).
TRANSIENT = frozenset({"ratelimited", "internal_error", "service_unavailable", "fatal_error", "request_timeout"})


def slack_call(send: Callable[[], Any]) -> Any:
    """Run one Web API call; turn Slack's refusals and network trouble into NotifyFailed (`transient` when
    trying again may help)."""
    try:
        return send()
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error", "slack_error"))
        retry_after = error.response.headers.get("Retry-After") if status == 429 else None
        raise NotifyFailed(f"Slack refused the message: {HINTS.get(code, code)}.", code=code, detail=code,
                           transient=status == 429 or status >= 500 or code in TRANSIENT,
                           retry_after=float(retry_after) if retry_after else None) from error
    except (SlackClientError, OSError) as error:
        raise NotifyFailed("Slack did not answer in time or could not be reached; try again in a minute.",
                           code="slack_unreachable", detail=type(error).__name__, transient=True) from error


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
            enterprise_id=(user.get("enterprise_user") or {}).get("enterprise_id") or None,
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
        message = {**messages.console_link_message(view, link), "metadata": _link_metadata(view)}
        # A user id as the channel posts to the person's DM with the app: no conversations.open first.
        response = slack_call(lambda: self.client.chat_postMessage(channel=view.request.requester_id, **message))
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}

    def find_console_link(self, view: RequestView) -> dict[str, str] | None:
        """The link DM an earlier try posted although its answer never came (a timeout), found by its metadata
        (the session's ref, never the link) in the requester's DM since the grant."""
        assert view.session is not None
        channel = self._open_dm(view.request.requester_id)
        oldest = f"{view.session.started_at.timestamp() - 60:.6f}"  # a margin: the clocks need not agree
        answer = slack_call(lambda: self.client.conversations_history(channel=channel, oldest=oldest, limit=200,
                                                                      include_all_metadata=True))
        wanted = _link_metadata(view)
        for message in answer.get("messages") or ():
            if message.get("metadata") == wanted:
                return {"channel": channel, "ts": str(message["ts"])}
        return None

    def _open_dm(self, user_id: str) -> str:
        return str(slack_call(lambda: self.client.conversations_open(users=user_id))["channel"]["id"])


def _link_metadata(view: RequestView) -> dict[str, Any]:
    assert view.session is not None
    return {"event_type": LINK_EVENT, "event_payload": {"session": view.session.ref}}
