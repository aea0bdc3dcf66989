"""The steps behind the admin window's buttons: check who clicks, render, and make the one Slack call."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot.domain.errors import InvalidInput, PamError
from bot.domain.text import plural
from bot.slack.admin_blocks import admin_home, admins_modal, confirm_remove, notice_view, working_view
from bot.slack.admin_forms import account_form, resource_form
from bot.services.admin import spec_of
from bot.slack.context import Services
from bot.slack.notifier import slack_call
from bot.slack.payload import action_value, metadata, user_id
from bot.slack.setup_blocks import doctor_view, setup_view

log = logging.getLogger(__name__)
GUARD = "admin.open"  # the audit action of a refused click in the admin window


OPENED = "pam_opened_view"  # added to a recorded body: the "working…" modal the web path opened for the worker
CHECKING = "Trying every Resource Role and Target Role with AWS…"


def home_view(services: Services, notice: str = "") -> dict[str, Any]:
    admin = services.admin
    return admin_home(admin.resources(), admin.accounts(), len(admin.admin_ids()), notice=notice)


def open_home(body: dict[str, Any], client: WebClient, services: Services) -> None:
    services.admin.ensure_admin(user_id(body), GUARD)
    slack_call(lambda: client.views_open(trigger_id=body["trigger_id"], view=home_view(services)))


def push(body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> str:
    """Open `view` on top of the admin window; return its id."""
    answer = slack_call(lambda: client.views_push(trigger_id=body["trigger_id"], view=view))
    return str(answer["view"]["id"])


def update(client: WebClient, view_id: str, view: dict[str, Any]) -> None:
    slack_call(lambda: client.views_update(view_id=view_id, view=view))


def refresh_home(client: WebClient, services: Services, parent: str | None, notice: str = "") -> None:
    """Show the change in the admin window underneath; it may have been closed meanwhile."""
    if not parent:
        return
    try:
        update(client, parent, home_view(services, notice))
    except PamError as error:
        log.info("admin window %s not refreshed: %s", parent, error.code)


def push_resource_form(body: dict[str, Any], client: WebClient, services: Services, *, editing: bool) -> None:
    services.admin.ensure_admin(user_id(body), GUARD)
    parent = _view_id(body)
    if not editing:
        push(body, client, resource_form(parent=parent))
        return
    name = action_value(body)
    row = next((r for r in services.admin.resources() if r.name == name), None)
    if row is None:
        push(body, client, notice_view("Not found", f"The resource {name} no longer exists."))
        return
    push(body, client, resource_form(name=row.name, role_arn=row.role_arn, description=row.description,
                                     editing=True, parent=parent))


def push_account_form(body: dict[str, Any], client: WebClient, services: Services, *, editing: bool) -> None:
    services.admin.ensure_admin(user_id(body), GUARD)
    names = [r.name for r in services.admin.resources()]
    parent = _view_id(body)
    if not editing:
        push(body, client, account_form(names, parent=parent))
        return
    resource, _, name = action_value(body).partition("/")
    found = next((a for r, a in services.admin.accounts(resource) if a.name == name), None)
    if found is None:
        push(body, client, notice_view("Not found", f"The account {resource}/{name} no longer exists."))
        return
    push(body, client, account_form(names, spec_of(resource, found), editing=True, parent=parent))


def ask_removal(body: dict[str, Any], client: WebClient, services: Services, *, kind: str) -> None:
    """Turn the edit form into a confirmation that says what happens to accounts and sessions."""
    actor = user_id(body)
    services.admin.ensure_admin(actor, GUARD)
    target = action_value(body)
    resource, _, name = target.partition("/")
    rows = [a for _, a in services.admin.accounts(resource) if kind == "resource" or a.name == name]
    ids = {a.id for a in rows}
    active = sum(1 for s in services.sessions.active(actor=actor, all_users=True, limit=10_000)
                 if s.account_id in ids)
    view = confirm_remove(kind, target, accounts=[a.name for a in rows] if kind == "resource" else (),
                          active_sessions=active, parent=str(metadata(body.get("view") or {}).get("parent") or ""))
    update(client, _view_id(body) or "", view)


def remove(actor: str, view: dict[str, Any], services: Services) -> str:
    """Remove what the confirmation names; return the sentence saying what happened."""
    meta = metadata(view)
    kind, target = str(meta.get("kind", "")), str(meta.get("target", ""))
    if kind == "resource":
        count = services.admin.remove_resource(actor=actor, name=target)
        return f"🗑️ Resource *{target}* is removed" + (f" with its {plural(count, 'account')}." if count else ".")
    if kind == "account":
        resource, _, name = target.partition("/")
        active = services.admin.remove_account(actor=actor, resource=resource, name=name)
        return f"🗑️ Account *{target}* is removed." + (
            f" Its {plural(active, 'active session')} will run until they end." if active else "")
    raise InvalidInput("This form is damaged; please open it again.", code="bad_metadata")


def push_admins(body: dict[str, Any], client: WebClient, services: Services) -> None:
    services.admin.ensure_admin(user_id(body), GUARD)
    env = services.admin.env_admins
    push(body, client, admins_modal(sorted(env), sorted(services.admin.admin_ids() - env), parent=_view_id(body)))


def show_setup(client: WebClient, services: Services, actor: str, view_id: str) -> None:
    """Ask AWS who pam-bot is and show the policies (the modal already says it is working)."""
    try:
        view = setup_view(services.setup.info(actor=actor))
    except PamError as error:
        view = notice_view("AWS set-up", f"⚠️ {error.user_message}")
    update(client, view_id, view)


def run_check(body: dict[str, Any], client: WebClient, services: Services) -> None:
    """The Check button: assume every role for real and show the report."""
    actor = user_id(body)
    services.admin.ensure_admin(actor, GUARD)
    view_id = body.get(OPENED) or push(body, client, working_view(CHECKING))
    try:
        view = doctor_view(services.setup.doctor(actor=actor))
    except PamError as error:
        view = notice_view("pam-bot check", f"⚠️ {error.user_message}")
    update(client, view_id, view)


def _view_id(body: dict[str, Any]) -> str | None:
    return str((body.get("view") or {}).get("id") or "") or None
