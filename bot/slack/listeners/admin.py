"""`/pam admin`, `/pam setup` and the admin window: buttons, forms, confirmations; AWS checks run after the ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import command as cmd
from bot.domain.errors import InvalidInput, NotAllowed, PamError
from bot.domain.text import escape_mrkdwn
from bot.slack import admin_flows as flows
from bot.slack.admin_blocks import notice_view, working_view
from bot.slack.admin_forms import account_form, resource_form
from bot.slack.admin_input import check_account, check_resource, field_errors, form_field, read_account, \
    read_resource
from bot.slack.blocks import Message
from bot.slack.context import Services
from bot.slack.ids import Action, Block, View
from bot.slack.listeners.commands import handles
from bot.slack.payload import metadata, user_id, view_values

Click = Callable[[dict[str, Any], WebClient], None]


@handles(cmd.Admin)
def _admin(parsed: cmd.Admin, body: dict[str, Any], client: WebClient, services: Services) -> Message | None:
    flows.open_home(body, client, services)
    return None


@handles(cmd.Setup)
def _setup(parsed: cmd.Setup, body: dict[str, Any], client: WebClient, services: Services) -> Message | None:
    services.admin.ensure_admin(body["user_id"], "setup.info")
    view_id = body.get(flows.OPENED) or client.views_open(
        trigger_id=body["trigger_id"], view=working_view("Asking AWS who pam-bot is…"))["view"]["id"]
    flows.show_setup(client, services, body["user_id"], str(view_id))
    return None


def register(app: App, services: Services) -> None:
    """Worker: the admin work that talks to AWS (the web path already opened its "working…" modal)."""
    clicks: dict[Action, Click] = {
        Action.ADMIN_CHECK: lambda b, c: flows.run_check(b, c, services),
        Action.ADMIN_SETUP: lambda b, c: _setup_click(b, c, services),
    }
    for action, run in clicks.items():
        app.action(action.value)(_clicked(run))

    @app.view(View.RESOURCE.value)
    def resource_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
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

    @app.view(View.ACCOUNT.value)
    def account_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
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


def register_front(app: App, services: Services) -> None:
    """Web path: clicks that open or push a modal while the trigger lives, and the confirmations whose
    result is the ack itself (read and write the database only; no AWS)."""
    clicks: dict[Action, Click] = {
        Action.OPEN_ADMIN: lambda b, c: flows.open_home(b, c, services),
        Action.ADMIN_ADD_RESOURCE: lambda b, c: flows.push_resource_form(b, c, services, editing=False),
        Action.ADMIN_EDIT_RESOURCE: lambda b, c: flows.push_resource_form(b, c, services, editing=True),
        Action.ADMIN_ADD_ACCOUNT: lambda b, c: flows.push_account_form(b, c, services, editing=False),
        Action.ADMIN_EDIT_ACCOUNT: lambda b, c: flows.push_account_form(b, c, services, editing=True),
        Action.ADMIN_REMOVE_RESOURCE: lambda b, c: flows.ask_removal(b, c, services, kind="resource"),
        Action.ADMIN_REMOVE_ACCOUNT: lambda b, c: flows.ask_removal(b, c, services, kind="account"),
        Action.ADMIN_MANAGE_ADMINS: lambda b, c: flows.push_admins(b, c, services),
    }
    for action, run in clicks.items():
        app.action(action.value)(_clicked(run))

    @app.view(View.CONFIRM_REMOVE.value)
    def removal_confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        try:
            done = flows.remove(user_id(body), view, services)
        except PamError as error:
            ack(response_action="update", view=notice_view("Not removed", f"⚠️ {error.user_message}"))
            return
        ack(response_action="update", view=notice_view("Removed", done))
        flows.refresh_home(client, services, str(metadata(view).get("parent") or ""), done)

    @app.view(View.ADMINS.value)
    def admins_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
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


def _clicked(run: Click) -> Callable[[Ack, dict[str, Any], WebClient], None]:
    """A button listener: ack at once, then do the click's work (Bolt passes arguments by name)."""
    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        run(body, client)
    return listener


def _setup_click(body: dict[str, Any], client: WebClient, services: Services) -> None:
    services.admin.ensure_admin(user_id(body), "setup.info")
    view_id = body.get(flows.OPENED) or flows.push(body, client, working_view("Asking AWS who pam-bot is…"))
    flows.show_setup(client, services, user_id(body), view_id)


def _refuse(ack: Ack, view: dict[str, Any], error: PamError) -> None:
    """Someone who is not an admin gets a notice instead of the form; anything else shows on its field."""
    if isinstance(error, NotAllowed):
        ack(response_action="update", view=notice_view("Not allowed", f"⛔ {error.user_message}"))
    else:
        ack(response_action="errors", errors=field_errors(view, error))


def _save_admins(services: Services, actor: str, chosen: set[str]) -> str:
    """Apply the difference between the chosen admins and the stored ones; say what changed."""
    admin = services.admin
    admin.ensure_admin(actor, "admin.add")
    stored = admin.admin_ids() - admin.env_admins
    added, removed = sorted(chosen - stored - admin.env_admins), sorted(stored - chosen)
    if actor in removed:
        raise InvalidInput("You cannot remove yourself; ask another admin to do it.", field=Block.ADMINS.value)
    for user in added:
        admin.set_admin(actor=actor, user_id=user, admin=True)
    for user in removed:
        admin.set_admin(actor=actor, user_id=user, admin=False)
    changes = [f"added {', '.join(f'<@{u}>' for u in added)}" if added else "",
               f"removed {', '.join(f'<@{u}>' for u in removed)}" if removed else ""]
    return "✅ Admins saved: " + "; ".join(c for c in changes if c) + "." if added or removed else "No change."
