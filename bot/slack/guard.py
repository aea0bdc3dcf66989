"""Bolt middleware: only this installation's team (or organisation) and its own members get past the ack."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError

from bot.domain.errors import NotFound, NotifyFailed
from bot.services.ports import Directory
from bot.slack.errors import reply
from bot.slack.installation import Installation

log = logging.getLogger(__name__)
MEMBER_TTL_SECONDS = 300.0  # a plain member's users.info is remembered this long; failures are never remembered

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
    """Who may use pam-bot: users.info through the directory that remembers members a few minutes
    (bot/slack/people.py), so the edge, the worker and the asker's own lookup share one call per person."""

    def __init__(self, people: Directory, installation: Installation) -> None:
        self.people, self.installation = people, installation

    def problem(self, user_id: str) -> str | None:
        try:
            person = self.people.person(user_id)
        except NotFound:  # e.g. someone from another organisation the app cannot see
            return "unknown_user"
        except NotifyFailed as error:
            log.warning("could not check Slack user %s: %s", user_id, error.code)
            return "member_check_failed"
        return self.installation.member_problem(person)


Answer = Callable[[str, dict[str, Any], str], Any]


def installation_guard(installation: Installation, members: Members, record: Callable[..., None], *,
                       checks_member: Callable[[dict[str, Any]], bool] = lambda body: True,
                       answer: Answer | None = None) -> Callable[..., Any]:
    """Global middleware: requests of other teams, organisations or strangers are refused and audited.

    `checks_member(body)` says whether this request's sender is looked up here: the edge leaves the requests it
    only records to the worker's guard, so that an ack never waits for Slack. `answer(kind, body, text)` is what
    a refused request gets (the edge: its ack, `refusal`; the worker: a reply through its response_url)."""
    answer_with = answer or refusal

    def guard(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt's name
        code = installation.foreign(team_id=context.team_id, enterprise_id=context.enterprise_id,
                                    actor_team_id=context.actor_team_id,
                                    actor_enterprise_id=context.actor_enterprise_id)
        if code is None and context.user_id and checks_member(body):
            code = members.problem(context.user_id)
        if code is None:
            return next()
        kind = str(body.get("type") or ("slash_command" if "command" in body else "unknown"))
        record(context.user_id or "slack", "slack.request", context.team_id or "", "refused", code=code, kind=kind,
               team_id=context.team_id, enterprise_id=context.enterprise_id)
        log.warning("refused a Slack %s from team %s (enterprise %s, user %s): %s", kind, context.team_id,
                    context.enterprise_id, context.user_id, code)
        return answer_with(kind, body, ANSWERS[code])

    return guard


def told_later(kind: str, body: dict[str, Any], text: str) -> BoltResponse:
    """The worker's answer to a refused request, acknowledged long ago: said through its response_url, if any."""
    if body.get("response_url"):
        _tell(str(body["response_url"]), text)
    return BoltResponse(status=200, body="")


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
