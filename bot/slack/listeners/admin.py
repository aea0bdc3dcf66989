"""`/pam admin`, `/pam setup` and the admin window: buttons, forms, confirmations; AWS checks run after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.domain.errors import NotAllowed, PamError
from bot.domain.text import escape_mrkdwn
from bot.slack import admin_flows as flows
from bot.slack.admin_blocks import notice_view, working_view
from bot.slack.admin_forms import account_form, resource_form
from bot.slack.admin_input import check_account, check_resource, field_errors, form_field, read_account, \
    read_resource
from bot.slack.blocks import Message
from bot.slack.context import Services
from bot.slack.ids import Action, Block, View
from bot.slack.payload import metadata, user_id, view_values


def register(app: App) -> None:
    """Worker: the admin work that talks to AWS (the web path already opened its "working…" modal)."""
    app.action(Action.ADMIN_CHECK.value)(run_check)
    app.action(Action.ADMIN_SETUP.value)(setup_clicked)
    app.view(View.RESOURCE.value)(resource_submitted)
    app.view(View.ACCOUNT.value)(account_submitted)


def front_clicks() -> dict[Action, Callable[..., None]]:
    """Web path: clicks that open or push a modal while the trigger lives."""
    return {Action.OPEN_ADMIN: open_admin, Action.ADMIN_ADD_RESOURCE: add_resource,
            Action.ADMIN_EDIT_RESOURCE: edit_resource, Action.ADMIN_ADD_ACCOUNT: add_account,
            Action.ADMIN_EDIT_ACCOUNT: edit_account, Action.ADMIN_REMOVE_RESOURCE: remove_resource,
            Action.ADMIN_REMOVE_ACCOUNT: remove_account, Action.ADMIN_MANAGE_ADMINS: manage_admins}


def register_front(app: App) -> None:
    """Web path: the clicks above, and the confirmations whose result is the ack itself (read and write the
    database only; no AWS)."""
    for action, listener in front_clicks().items():
        app.action(action.value)(listener)
    for view, submitted in front_views().items():
        app.view(view.value)(submitted)


def front_views() -> dict[View, Callable[..., None]]:
    """Web path: submissions whose result is the ack itself."""
    return {View.CONFIRM_REMOVE: removal_confirmed, View.ADMINS: admins_submitted}


def admin_command(parsed: cmd.Admin, body: dict[str, Any], client: WebClient, services: Services) -> Message | None:
    flows.open_home(body, client, services)
    return None


def setup_command(parsed: cmd.Setup, body: dict[str, Any], client: WebClient, services: Services) -> Message | None:
    services.admin.ensure_admin(body["user_id"], "setup.info")
    view_id = body.get(flows.OPENED) or client.views_open(
        trigger_id=body["trigger_id"], view=working_view("Asking AWS who pam-bot is…"))["view"]["id"]
    flows.show_setup(client, services, body["user_id"], str(view_id))
    return None


def run_check(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.run_check(body, client, services)


def setup_clicked(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    services.admin.ensure_admin(user_id(body), "setup.info")
    view_id = body.get(flows.OPENED) or flows.push(body, client, working_view("Asking AWS who pam-bot is…"))
    flows.show_setup(client, services, user_id(body), view_id)


def resource_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                       services: Services) -> None:
    actor = user_id(body)
    form = answer_resource_form(ack, body, view, services)
    if form is None:
        return
    try:
        row = services.admin.save_resource(actor=actor, name=form.name, role_arn=form.role_arn,
                                           description=form.description, replace=form.editing)
    except PamError as error:
        flows.update(client, view["id"], resource_form(
            name=form.name, role_arn=form.role_arn, description=form.description, editing=form.editing,
            parent=form.parent, error=error, field=form_field(View.RESOURCE.value, error)))
        return
    done = f"✅ Resource *{row.name}* is saved: pam-bot assumed its Resource Role `{row.role_arn}`."
    flows.update(client, view["id"], notice_view("Resource saved", done))
    flows.refresh_home(client, services, form.parent, done)


def account_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                      services: Services) -> None:
    actor = user_id(body)
    form = answer_account_form(ack, body, view, services)
    if form is None:
        return
    spec = form.spec
    names = [r.name for r in services.admin.resources()]
    try:
        notes: list[str] = []
        row = services.admin.save_account(actor=actor, spec=spec, replace=form.editing, notes=notes)
    except PamError as error:
        flows.update(client, view["id"], account_form(names, spec, editing=form.editing, parent=form.parent,
                                                      error=error, field=form_field(View.ACCOUNT.value, error)))
        return
    done = f"✅ Account *{spec.resource}/{row.name}* is saved: the role chain to `{row.role_arn}` works." + "".join(
        f"\n⚠️ {escape_mrkdwn(note)}" for note in notes)
    flows.update(client, view["id"], notice_view("Account saved", done))
    flows.refresh_home(client, services, form.parent, done)


def open_admin(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.open_home(body, client, services)


def add_resource(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.push_resource_form(body, client, services, editing=False)


def edit_resource(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.push_resource_form(body, client, services, editing=True)


def add_account(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.push_account_form(body, client, services, editing=False)


def edit_account(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.push_account_form(body, client, services, editing=True)


def remove_resource(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.ask_removal(body, client, services, kind="resource")


def remove_account(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.ask_removal(body, client, services, kind="account")


def manage_admins(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    ack()
    flows.push_admins(body, client, services)


def removal_confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                      services: Services) -> None:
    try:
        done = flows.remove(user_id(body), view, services)
    except PamError as error:
        ack(response_action="update", view=notice_view("Not removed", f"⚠️ {error.user_message}"))
        return
    ack(response_action="update", view=notice_view("Removed", done))
    flows.refresh_home(client, services, str(metadata(view).get("parent") or ""), done)


def admins_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     services: Services) -> None:
    actor = user_id(body)
    chosen = set(view_values(view).get(Block.ADMINS.value) or ())
    try:
        done = _save_admins(services, actor, chosen)
    except PamError as error:
        _refuse(ack, view, error)
        return
    ack(response_action="update", view=notice_view("Admins saved", done))
    flows.refresh_home(client, services, str(metadata(view).get("parent") or ""), done)


def answer_resource_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> Any:
    """The ack of a resource form (read-only, on the web path): field errors, or "checking with AWS"."""
    try:
        services.admin.ensure_admin(user_id(body), "resource.save")
        form = read_resource(view)
        check_resource(form, {r.name for r in services.admin.resources()})
    except PamError as error:
        _refuse(ack, view, error)
        return None
    ack(response_action="update", view=working_view(f"Checking with AWS that pam-bot can assume "
                                                    f"`{form.role_arn}`…"))
    return form


def answer_account_form(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> Any:
    """The ack of an account form (read-only, on the web path): field errors, or "checking with AWS"."""
    try:
        services.admin.ensure_admin(user_id(body), "account.save")
        form = read_account(view)
        names = [r.name for r in services.admin.resources()]
        check_account(form, names, {f"{r.name}/{a.name}" for r, a in services.admin.accounts()})
    except PamError as error:
        _refuse(ack, view, error)
        return None
    spec = form.spec
    ack(response_action="update", view=working_view(f"Checking with AWS that pam-bot can reach `{spec.role_arn}` "
                                                    f"through {spec.resource}…"))
    return form


def _refuse(ack: Ack, view: dict[str, Any], error: PamError) -> None:
    """Someone who is not an admin gets a notice instead of the form; anything else shows on its field."""
    if isinstance(error, NotAllowed):
        ack(response_action="update", view=notice_view("Not allowed", f"⛔ {error.user_message}"))
    else:
        ack(response_action="errors", errors=field_errors(view, error))


def _save_admins(services: Services, actor: str, chosen: set[str]) -> str:
    """Apply the chosen admins; say what changed."""
    change = services.admin.set_admins(actor=actor, chosen=chosen)
    changes = [f"added {', '.join(f'<@{u}>' for u in change.added)}" if change.added else "",
               f"removed {', '.join(f'<@{u}>' for u in change.removed)}" if change.removed else ""]
    return "✅ Admins saved: " + "; ".join(c for c in changes if c) + "." if any(changes) else "No change."
