"""The web path: record each verified request in the database and ack; only what Slack needs now happens here.

Slack needs two things before the ack or within its 3 s: a modal submission's `response_action` (field errors,
"checking with AWS…") and opening a modal while the click's `trigger_id` lives. Both are read-only; the rest of
every request is done by a worker from the recorded row (bot/runtime/worker.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.domain.errors import PamError
from bot.domain.text import has_visible_text
from bot.services.inbox import Inbox
from bot.slack import admin_flows as flows
from bot.slack.admin_blocks import working_view
from bot.slack.context import Services
from bot.slack.errors import handle_error
from bot.slack.ids import Action, Block
from bot.slack.listeners import actions, admin
from bot.slack.modals import request_modal
from bot.slack.payload import user_id, view_values, with_asker
from bot.slack.recording import FORMS_CHECKED_FIRST, WORKING_FIRST, action_id, kind_of, store

log = logging.getLogger(__name__)
ANY = re.compile(".*")


def register(app: App) -> None:
    """Front listeners (modals, form errors) before those that record everything else. Each listener is
    given `services` and `inbox` by name (bot/slack/app.py puts them in Bolt's context).

    Clicks the front leaves to the worker (Approve and most others) are matched first: Bolt tries its
    listeners in order, each at the cost of building its arguments, so the busiest path tries one."""
    app.action(all_but({*actions.front_clicks(), *admin.front_clicks(), *WORKING_FIRST}))(record)
    app.command("/pam")(pam)
    app.action(only(WORKING_FIRST))(working_first)
    actions.register_front(app)
    admin.register_front(app)
    for view, submitted in zip(FORMS_CHECKED_FIRST, (request_form, resource_form, account_form), strict=True):
        app.view(view.value)(submitted)
    app.command(ANY)(record)
    app.view(ANY)(record)
    app.event(ANY)(event)


def only(ids: Iterable[Action]) -> re.Pattern[str]:
    """Exactly these ids (Bolt searches an action's id with the pattern; \\Z, unlike $, allows no newline)."""
    return re.compile(rf"^(?:{_alternatives(ids)})\Z")


def all_but(ids: Iterable[Action]) -> re.Pattern[str]:
    """Every id except exactly these."""
    return re.compile(rf"^(?!(?:{_alternatives(ids)})\Z)")


def _alternatives(ids: Iterable[Action]) -> str:
    return "|".join(sorted(re.escape(i.value) for i in ids))


def record(ack: Ack, body: dict[str, Any], client: WebClient, inbox: Inbox) -> None:
    """Insert the row, then ack: what Slack shows as accepted is in the database."""
    _record(ack, body, client, inbox, body)


def _record(ack: Ack, body: dict[str, Any], client: WebClient, inbox: Inbox, row: dict[str, Any]) -> None:
    ack(text=store(body, client, inbox, row))


def event(body: dict[str, Any], inbox: Inbox) -> None:
    inbox.record(kind_of(body), body)


def pam(ack: Ack, body: dict[str, Any], client: WebClient, services: Services, inbox: Inbox) -> None:
    parsed = cmd.parse_command(body.get("text") or "")
    if isinstance(parsed, cmd.Admin):
        _in_ack(ack, body, client, lambda: flows.open_home(body, client, services))
    elif isinstance(parsed, cmd.Setup):
        opened = _in_ack(ack, body, client, lambda: _open_working(body, client, services))
        if opened:
            inbox.record(kind_of(body), {**body, flows.OPENED: opened})
    elif isinstance(parsed, cmd.Access) and _wants_reason(parsed, services):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=request_modal(
            services.access.catalog(body["user_id"]), selected=f"{parsed.resource}/{parsed.account}",
            duration=parsed.duration or "", note=f"{parsed.resource}/{parsed.account} needs a reason. "
                                                 "Tell the approvers why you need it."))
    else:
        record(ack, body, client, inbox)


def working_first(ack: Ack, body: dict[str, Any], client: WebClient, services: Services, inbox: Inbox) -> None:
    title = "Asking AWS who pam-bot is…" if action_id(body) == Action.ADMIN_SETUP.value else flows.CHECKING
    opened = _in_ack(ack, body, client, lambda: _push_working(body, client, services, title))
    if opened:
        inbox.record(kind_of(body), {**body, flows.OPENED: opened})


def request_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, services: Services,
                 inbox: Inbox) -> None:
    values = view_values(view)
    resource, _, account = str(values.get(Block.ACCOUNT.value, "")).partition("/")
    if "break_glass" in (values.get(Block.URGENCY.value) or ()):  # the worker says what else is refused
        if has_visible_text(values.get(Block.REASON.value, "")):
            record(ack, body, client, inbox)
        else:
            ack(response_action="errors", errors={Block.REASON.value: "Break-glass needs a reason: say what is "
                                                                      "on fire."})
        return
    try:
        asker = services.access.check(user_id=user_id(body), resource=resource, account=account,
                                      duration=values.get(Block.DURATION.value) or None,
                                      reason=values.get(Block.REASON.value, ""),
                                      start=values.get(Block.START.value) or None)
    except PamError as error:
        ack(response_action="errors", errors={error.field or Block.ACCOUNT.value: error.user_message})
        return
    _record(ack, body, client, inbox, with_asker(body, asker))  # the worker's submit asks Slack no more


def resource_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, inbox: Inbox) -> None:
    """Field errors, or "checking with AWS" and the row the worker saves from."""
    if admin.answer_resource_form(ack, body, view, services) is not None:
        inbox.record(kind_of(body), body)


def account_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, inbox: Inbox) -> None:
    """Field errors, or "checking with AWS" and the row the worker saves from."""
    if admin.answer_account_form(ack, body, view, services) is not None:
        inbox.record(kind_of(body), body)


def _in_ack(ack: Ack, body: dict[str, Any], client: WebClient, run: Callable[[], Any]) -> Any:
    """Ack, then open a modal while the trigger lives; a refusal goes to the person like any other error."""
    ack()
    try:
        return run()
    except PamError as error:
        handle_error(error, body, client)
        return None


def _open_working(body: dict[str, Any], client: WebClient, services: Services) -> str:
    services.admin.ensure_admin(body["user_id"], "setup.info")
    opened = client.views_open(trigger_id=body["trigger_id"], view=working_view("Asking AWS who pam-bot is…"))
    return str(opened["view"]["id"])


def _push_working(body: dict[str, Any], client: WebClient, services: Services, title: str) -> str:
    services.admin.ensure_admin(user_id(body), "setup.info" if "who" in title else flows.GUARD)
    return flows.push(body, client, working_view(title))


def _wants_reason(parsed: cmd.Access, services: Services) -> bool:
    """Without a reason, does the account ask for one? (One read, no Slack call; every other check is the
    worker's, which reports it.)"""
    if parsed.reason:
        return False
    found = next((a for _, a in services.admin.accounts(parsed.resource) if a.name == parsed.account), None)
    return bool(found is not None and found.require_reason)
