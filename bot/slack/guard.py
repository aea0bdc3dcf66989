"""Bolt middleware: only this installation's team (or organisation) and its own members get past the ack."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.domain.errors import NotifyFailed
from bot.slack.errors import reply
from bot.slack.installation import Installation
from bot.slack.notifier import slack_call

log = logging.getLogger(__name__)
MEMBER_TTL_SECONDS = 300.0  # a member stays checked this long; refusals and failures are never remembered

ANSWERS = {
    "foreign_team": "pam-bot serves only the Slack workspace it is installed in.",
    "foreign_enterprise": "pam-bot serves only the Slack organisation it is installed in.",
    "foreign_user": "pam-bot serves only members of the workspace it is installed in.",
    "stranger": "pam-bot serves only members of this workspace, not people from other organisations in a shared "
                "channel.",
    "unknown_user": "Slack does not know you as a member of this workspace, so pam-bot did nothing.",
    "member_check_failed": "pam-bot could not check with Slack who you are, so it did nothing. Try again in a "
                           "minute.",
}


class Members:
    """users.info at the edge, for the requester of every request; members are remembered a few minutes."""

    def __init__(self, client: WebClient, installation: Installation, *, ttl: float = MEMBER_TTL_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.client, self.installation, self.ttl, self.now = client, installation, ttl, now
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def problem(self, user_id: str) -> str | None:
        with self._lock:
            if self._checked.get(user_id, float("-inf")) > self.now():
                return None
        try:
            user = slack_call(lambda: self.client.users_info(user=user_id))["user"]
        except NotifyFailed as error:
            if error.code == "user_not_found":  # e.g. someone from another organisation the app cannot see
                return "unknown_user"
            log.warning("could not check Slack user %s at the edge: %s", user_id, error.code)
            return "member_check_failed"
        problem = self.installation.member_problem(user)
        if problem is None:
            with self._lock:
                self._checked[user_id] = self.now() + self.ttl
        return problem


def installation_guard(installation: Installation, members: Members,
                       record: Callable[..., None]) -> Callable[..., Any]:
    """Global middleware: requests of other teams, organisations or strangers are refused and audited."""

    def guard(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name
        code = installation.foreign(team_id=context.team_id, enterprise_id=context.enterprise_id,
                                    actor_team_id=context.actor_team_id,
                                    actor_enterprise_id=context.actor_enterprise_id)
        if code is None and context.user_id:
            code = members.problem(context.user_id)
        if code is None:
            return next()
        kind = str(body.get("type") or ("slash_command" if "command" in body else "unknown"))
        record(context.user_id or "slack", "slack.request", context.team_id or "", "refused", code=code, kind=kind,
               team_id=context.team_id, enterprise_id=context.enterprise_id)
        log.warning("refused a Slack %s from team %s (enterprise %s, user %s): %s", kind, context.team_id,
                    context.enterprise_id, context.user_id, code)
        return refusal(kind, body, ANSWERS[code])

    return guard


def refusal(kind: str, body: dict[str, Any], text: str) -> BoltResponse:
    """The ack of a refused request: shown to the person where Slack shows one, else a plain 200."""
    if kind == "slash_command":
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers={"content-type": "application/json"})
    if kind == "block_actions" and body.get("response_url"):
        url = str(body["response_url"])
        threading.Thread(target=_tell, args=(url, text), name="refusal-reply", daemon=True).start()
    return BoltResponse(status=200, body="")


def _tell(response_url: str, text: str) -> None:
    try:
        reply(response_url, {"text": text})
    except (SlackClientError, OSError) as error:  # the refusal stands; only the explanation is lost
        log.warning("could not tell a refused Slack user why: %s", type(error).__name__)
