"""Pure Block Kit builders of the admin window: the configuration list, confirmations, admins, notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.durations import format_duration
from bot.domain.text import escape_mrkdwn, plural, truncate
from bot.services.read_models import AccountRead, ResourceRead
from bot.slack.blocks import button, context, section, who_approves
from bot.slack.ids import VALUE, Action, Block, View
from bot.slack.modals import modal, plain

VIEW_BLOCKS = 100
DIVIDER: dict[str, Any] = {"type": "divider"}


def admin_home(resources: Sequence[ResourceRead], accounts: Sequence[tuple[ResourceRead, AccountRead]], admins: int, *,
               notice: str = "") -> dict[str, Any]:
    """Every resource with its accounts and an Edit button each; cut and counted past Slack's 100 blocks."""
    blocks: list[dict[str, Any]] = [context(notice)] if notice else []
    blocks += [
        section(f"*{plural(len(resources), 'resource')}, {plural(len(accounts), 'account')}, "
                f"{plural(admins, 'admin')}.* Every change is checked against AWS before it is saved."),
        {"type": "actions", "block_id": Block.ACTIONS.value, "elements": [
            button("Add resource", Action.ADMIN_ADD_RESOURCE, style="primary"),
            button("Add account", Action.ADMIN_ADD_ACCOUNT),
            button("Admins", Action.ADMIN_MANAGE_ADMINS),
            button("Check", Action.ADMIN_CHECK),
            button("AWS set-up", Action.ADMIN_SETUP),
        ]},
    ]
    items: list[dict[str, Any]] = []
    for resource in resources:
        own = [a for r, a in accounts if r.id == resource.id]
        items += [DIVIDER, _resource(resource)] + [_account(resource, a) for a in own]
        if not own:
            items.append(context("No accounts yet: add one with *Add account*."))
    room = VIEW_BLOCKS - len(blocks) - 1
    if len(items) > room:
        hidden = sum(1 for b in items[room:] if b.get("accessory"))
        items = items[:room] + [context(f"…and {hidden} more not shown here. `pam-bot resource list` and "
                                        "`pam-bot account list` list everything.")]
    if not resources:
        items = [DIVIDER, context("Nothing is set up yet. Start with *AWS set-up*, then *Add resource*.")]
    return _done(modal(View.ADMIN, "pam-bot admin", blocks + items, submit=None))


def notice_view(title: str, text: str, *, callback: View = View.NOTICE) -> dict[str, Any]:
    """A read-only modal with one message (results, refusals)."""
    return _done(modal(callback, title, [section(text)], submit=None))


def working_view(text: str) -> dict[str, Any]:
    """What the modal shows while AWS is being asked (the ack must come within 3 seconds)."""
    return _done(modal(View.NOTICE, "Working…", [section(f"⏳ {text}")], submit=None))


def confirm_remove(kind: str, target: str, *, accounts: Sequence[str] = (), active_sessions: int = 0,
                   parent: str | None = None) -> dict[str, Any]:
    """Say what removing a resource or an account does to its accounts and sessions, and ask to go on."""
    lines = [f"Remove the {kind} *{target}*? Nobody can ask for "
             + ("its accounts" if kind == "resource" else "it") + " any more."]
    if accounts:
        listed = ", ".join(f"`{a}`" for a in accounts[:20]) + ("…" if len(accounts) > 20 else "")
        lines.append(f"Its {plural(len(accounts), 'account')} go with it: {listed}.")
    if active_sessions:
        one = active_sessions == 1
        lines.append(f"{plural(active_sessions, 'active session')} {'keeps' if one else 'keep'} working until "
                     f"{'it ends' if one else 'they end'} (at most an hour). `/pam revoke` can still end "
                     f"{'it' if one else 'them'} in pam-bot, but no longer cuts {'it' if one else 'them'} in AWS.")
    else:
        lines.append("No sessions are active on " + ("them." if kind == "resource" else "it."))
    lines.append("Past requests and the audit trail are kept.")
    return modal(View.CONFIRM_REMOVE, f"Remove {kind}", [section("\n".join(lines))], submit="Remove",
                 metadata={"kind": kind, "target": target, "parent": parent or ""})


def admins_modal(env_admins: Sequence[str], stored: Sequence[str], *, parent: str | None = None) -> dict[str, Any]:
    """Admins from PAM_ADMINS (read-only here) and those added in Slack (editable)."""
    from_env = ", ".join(f"<@{u}>" for u in sorted(env_admins)[:50]) or "nobody"
    element: dict[str, Any] = {"type": "multi_users_select", "action_id": VALUE, "placeholder": plain("Add people")}
    if stored:
        element["initial_users"] = sorted(stored)
    return modal(View.ADMINS, "pam-bot admins", [
        section(f"*From PAM_ADMINS* (change them there): {from_env}"),
        {"type": "input", "block_id": Block.ADMINS.value, "label": plain("Admins added in Slack"),
         "element": element, "optional": True},
        context("Admins manage resources, accounts and admins, see everyone's sessions, and approve requests "
                "for accounts that name no approvers."),
    ], submit="Save", metadata={"parent": parent or ""})


def _resource(resource: ResourceRead) -> dict[str, Any]:
    description = f" — {escape_mrkdwn(truncate(resource.description, 300))}" if resource.description else ""
    return {**section(f"*{resource.name}*{description}\n`{resource.role_arn}`"),
            "accessory": button("Edit", Action.ADMIN_EDIT_RESOURCE, resource.name)}


def _account(resource: ResourceRead, account: AccountRead) -> dict[str, Any]:
    description = f" — {escape_mrkdwn(truncate(account.description, 300))}" if account.description else ""
    extras = [f"<#{account.approval_channel}>" if account.approval_channel else "",
              "reason required" if account.require_reason else "",
              "revocation in AWS" if account.revocation_enabled else ""]
    details = " · ".join(e for e in [f"up to {format_duration(account.default_duration_seconds)}",
                                     f"approved by {who_approves(account)}", *extras] if e)
    return {**section(f"`{resource.name}/{account.name}`{description}\n{details}\n`{account.role_arn}`"),
            "accessory": button("Edit", Action.ADMIN_EDIT_ACCOUNT, f"{resource.name}/{account.name}")}


def _done(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "close": plain("Done")}
