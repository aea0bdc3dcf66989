"""The web path's records: which requests it only records (the worker does the rest, the member check included),
the one insert, and the route that answers those without Bolt's dispatch."""

from __future__ import annotations

from functools import cache
from typing import Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.domain import command as cmd
from bot.domain.errors import PamError
from bot.services.inbox import Inbox
from bot.slack.errors import handle_error, user_text
from bot.slack.ids import Action, View
from bot.slack.installation import Installation
from bot.slack.listeners import actions, admin

WORKING_FIRST = (Action.ADMIN_SETUP, Action.ADMIN_CHECK)  # clicks that show "working…" before the worker runs
FORMS_CHECKED_FIRST = (View.REQUEST, View.RESOURCE, View.ACCOUNT)  # the front answers with field errors (front.py)


def records_only(body: dict[str, Any]) -> bool:
    """Whether the front does nothing with this request but record it (front.register's routes; a listener added
    there belongs in the lists used here): then the worker's guard checks who sent it, and the ack never waits for
    Slack's users.info. Requests the front acts on before the ack (modals, form errors) have their sender checked
    at the edge."""
    if "command" in body:
        if body.get("command") != "/pam":
            return True
        try:
            parsed = cmd.parse_command(body.get("text") or "")
        except PamError:
            return False  # the front's `pam` answers it
        return not isinstance(parsed, cmd.Admin | cmd.Setup) and not (isinstance(parsed, cmd.Access)
                                                                      and not parsed.reason)
    kind = body.get("type")
    if kind == "block_actions":
        return action_id(body) not in _front_ids()[0]
    if kind == "view_submission":
        return (body.get("view") or {}).get("callback_id") not in _front_ids()[1]
    return kind == "event_callback"


@cache
def _front_ids() -> tuple[frozenset[str], frozenset[str]]:
    """The action ids and view callback ids the front acts on (built once: every click asks)."""
    return (frozenset(a.value for a in (*actions.front_clicks(), *admin.front_clicks(), *WORKING_FIRST)),
            frozenset(v.value for v in (*FORMS_CHECKED_FIRST, *admin.front_views())))


def store(body: dict[str, Any], client: WebClient, inbox: Inbox, row: dict[str, Any]) -> str:
    """Insert the row; what the ack says: nothing, or why a command was not taken (the database is down).
    A click or a form whose row could not be written is told so privately."""
    try:
        inbox.record(kind_of(body), row)
    except SQLAlchemyError as error:
        if "command" in body:
            return user_text(error)
        handle_error(error, body, client)
    return ""


class RecordDirectly:
    """The web path's own route for the requests the front only records (`records_only`: Approve and most clicks,
    `/pam access … reason`, the forms the worker checks): the signature checked (bot/runtime/edge.py) and the
    workspace checked here, one insert, the ack, without Bolt's dispatch (its middleware chain and listener
    matching cost more than the insert). Anything else, a refusal included, goes to Bolt (None)."""

    def __init__(self, installation: Installation, inbox: Inbox, client: WebClient) -> None:
        self.installation, self.inbox, self.client = installation, inbox, client

    def __call__(self, request: BoltRequest) -> BoltResponse | None:
        body = request.body
        if ("command" not in body and body.get("type") not in ("block_actions", "view_submission")) \
                or not records_only(body):
            return None  # events (Bolt drops the bot's own), url_verification, ssl_check, what the front acts on
        context = request.context
        if self.installation.foreign(team_id=context.team_id, enterprise_id=context.enterprise_id,
                                     actor_team_id=context.actor_team_id,
                                     actor_enterprise_id=context.actor_enterprise_id) is not None:
            return None  # the installation guard refuses it, says why and audits it
        return BoltResponse(status=200, body=store(body, self.client, self.inbox, body))


def kind_of(body: dict[str, Any]) -> str:
    return str(body.get("type") or ("slash_command" if "command" in body else "unknown"))[:32]


def action_id(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("action_id", ""))
