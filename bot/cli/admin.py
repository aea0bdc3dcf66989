"""`pam-bot resource …` and `pam-bot account …`: the admin modals' twins for scripts."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from bot.config import Settings
from bot.domain.durations import format_duration
from bot.domain.eligibility import Requesters
from bot.domain.errors import InvalidInput, NotFound
from bot.services.admin import AccountSpec, AdminService
from bot.services.ports import SlackIds
from bot.services.read_models import AccountRead, ResourceRead


def add_admin_commands(commands: Any) -> None:
    resource = commands.add_parser("resource", help="manage resources (AWS accounts reached via a Resource Role)")
    res = resource.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = res.add_parser("add", help="add a resource; its role is assumed first, nothing is saved on failure")
    add.add_argument("name")
    add.add_argument("--role-arn", required=True)
    add.add_argument("--description", default="")
    add.add_argument("--source-identity", action="store_true",
                     help="set SourceIdentity to the person on both hops (trust policies need sts:SetSourceIdentity)")
    add.set_defaults(run=_resource_add)
    update = res.add_parser("update", help="change a resource; its role is assumed first, nothing is saved on failure")
    update.add_argument("name")
    update.add_argument("--role-arn", default=None)
    update.add_argument("--description", default=None)
    update.add_argument("--source-identity", action=argparse.BooleanOptionalAction, default=None,
                        help="set SourceIdentity to the person on both hops (or stop with --no-source-identity)")
    update.set_defaults(run=_resource_update)
    listing = res.add_parser("list", help="list resources")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_resource_list)
    remove = res.add_parser("remove", help="remove a resource and its accounts")
    remove.add_argument("name")
    remove.set_defaults(run=_resource_remove)

    account = commands.add_parser("account", help="manage accounts (Target Roles people get)")
    acc = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = acc.add_parser("add", help="add an account; the role chain is tried first, nothing is saved on failure")
    _account_flags(add, adding=True)
    update = acc.add_parser("update", help="change an account; only the flags given change, the chain is tried again")
    _account_flags(update, adding=False)
    listing = acc.add_parser("list", help="list accounts")
    listing.add_argument("--resource", default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_account_list)
    remove = acc.add_parser("remove", help="remove an account (active sessions run until they end)")
    remove.add_argument("resource")
    remove.add_argument("name")
    remove.set_defaults(run=_account_remove)


def _account_flags(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    """`add` and `update` take the same flags; on `update` every flag defaults to "leave as it is"."""
    switch: Any = "store_true" if adding else argparse.BooleanOptionalAction
    unset = False if adding else None
    parser.add_argument("resource")
    parser.add_argument("name")
    parser.add_argument("--role-arn", required=adding, default=None)
    parser.add_argument("--duration", required=adding, default=None,
                        help="default and maximum session length, 15m..1h")
    parser.add_argument("--approvers", default=None, help="comma-separated Slack user ids")
    parser.add_argument("--approver-group", default=None, help="a Slack user group id (S…)")
    parser.add_argument("--approvals-required", type=int, default=None)
    parser.add_argument("--requesters", default=None,
                        help="who may ask: comma-separated Slack user ids, or `everyone` (on add, this or "
                             "--requester-group is required)")
    parser.add_argument("--requester-group", default=None, help="a Slack user group id (S…) whose members may ask")
    parser.add_argument("--channel", default=None, help="approval channel id (C…)")
    parser.add_argument("--auto-approve", action=switch, default=unset)
    parser.add_argument("--auto-approve-daily-limit", type=int, default=None)
    parser.add_argument("--require-reason", action=switch, default=unset)
    parser.add_argument("--revocation", action=switch, default=unset,
                        help="cut sessions in AWS on revoke (iam:PutRolePolicy)")
    parser.add_argument("--max-extensions", type=int, default=None, metavar="N",
                        help="how many times a session may be extended (a new grant each time; default 0)")
    parser.add_argument("--extend-without-approval", action=switch, default=unset,
                        help="extensions are granted at once instead of being approved again")
    parser.add_argument("--escalate-to", default=None, metavar="C123|S123",
                        help="the last reminder of a pending request posts in this channel or mentions this group")
    parser.add_argument("--break-glass", action=switch, default=unset,
                        help="allow `/pam break-glass`: access at once without approval, loud and reviewed after")
    parser.add_argument("--description", default=None)
    parser.set_defaults(run=_account_save, replace=not adding)


def admin_service(*, validate: bool = True) -> AdminService:
    """AdminService with storage and AWS, without Slack."""
    from bot.clock import utcnow
    from bot.cli.storage import cli_external_id, cli_settings, cli_storage
    from bot.runtime.container import build_broker

    settings = cli_settings()
    db = cli_storage(settings)
    external_id = cli_external_id(settings, db)
    return AdminService(db=db, clock=utcnow, broker=build_broker(settings, external_id), env_admins=settings.admins,
                        slack=slack_ids(settings))


def slack_ids(settings: Settings) -> SlackIds | None:
    """Slack ids are checked against Slack when SLACK_BOT_TOKEN is set (by shape only otherwise)."""
    if not settings.slack_bot_token:
        return None
    from bot.runtime.container import slack_client
    from bot.slack.id_check import SlackIdCheck

    return SlackIdCheck(slack_client(settings))


def _resource_add(args: argparse.Namespace) -> int:
    row = admin_service().save_resource(actor=args.actor, name=args.name, role_arn=args.role_arn,
                                        description=args.description, source_identity=args.source_identity,
                                        trusted=True)
    print(f"resource {row.name} added ({row.role_arn}): the Resource Role was assumed successfully"
          + (", setting SourceIdentity" if row.source_identity else ""))
    return 0


def _resource_update(args: argparse.Namespace) -> int:
    service = admin_service()
    current = next((r for r in service.resources() if r.name == args.name.strip().lower()), None)
    if current is None:
        raise NotFound(f"There is no resource named {args.name}.")
    row = service.save_resource(
        actor=args.actor, name=current.name, role_arn=args.role_arn or current.role_arn,
        description=current.description if args.description is None else args.description,
        source_identity=args.source_identity, replace=True, trusted=True)
    print(f"resource {row.name} updated ({row.role_arn}): the Resource Role was assumed successfully"
          + (", setting SourceIdentity" if row.source_identity else ""))
    return 0


def _resource_list(args: argparse.Namespace) -> int:
    rows = [resource_dict(r) for r in admin_service().resources()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<20} {row['role_arn']}  {row['description']}".rstrip())
        if not rows:
            print("no resources")
    return 0


def _resource_remove(args: argparse.Namespace) -> int:
    count = admin_service().remove_resource(actor=args.actor, name=args.name, trusted=True)
    print(f"resource {args.name} removed" + (f" with {count} account(s)" if count else ""))
    return 0


def _account_save(args: argparse.Namespace) -> int:
    service = admin_service()
    base = service.account_spec(args.resource, args.name) if args.replace else \
        AccountSpec(resource=args.resource, name=args.name, role_arn="")
    changes: dict[str, Any] = {key: value for key, value in {
        "role_arn": args.role_arn, "duration": args.duration, "description": args.description,
        "approver_group": args.approver_group, "approvals_required": args.approvals_required,
        "approval_channel": args.channel, "auto_approve": args.auto_approve,
        "auto_approve_daily_limit": args.auto_approve_daily_limit, "require_reason": args.require_reason,
        "revocation_enabled": args.revocation, "break_glass": args.break_glass, "escalate_to": args.escalate_to,
        "max_extensions": args.max_extensions, "extend_without_approval": args.extend_without_approval,
    }.items() if value is not None}
    if args.approvers is not None:
        changes["approver_ids"] = tuple(a.strip() for a in args.approvers.split(",") if a.strip())
    if args.replace:  # approvers and a group exclude each other: naming one on `update` drops the other
        if changes.get("approver_ids") and args.approver_group is None:
            changes["approver_group"] = None
        if args.approver_group and args.approvers is None:
            changes["approver_ids"] = ()
    if args.requesters is not None or args.requester_group is not None or not args.replace:
        changes.update(requesters_of_args(*_requesters_after(base, args)))
    notes: list[str] = []
    row = service.save_account(actor=args.actor, spec=replace(base, **changes), replace=args.replace, trusted=True,
                               notes=notes)
    print(f"account {args.resource}/{row.name} {'updated' if args.replace else 'added'} ({row.role_arn}): "
          "the role chain works")
    for note in notes:
        print(f"warning: {note}")
    return 0


def _requesters_after(base: AccountSpec, args: argparse.Namespace) -> tuple[str, str | None]:
    """`--requesters` and `--requester-group` as they stand after this command (an update keeps what is not said;
    `everyone` and a group exclude each other, so saying one drops the other)."""
    if not args.replace:
        return args.requesters or "", args.requester_group
    people = args.requesters if args.requesters is not None else \
        ("everyone" if base.requesters_everyone else ",".join(base.requester_ids))
    group = args.requester_group if args.requester_group is not None else base.requester_group
    if args.requesters is not None and people.strip().lower() == "everyone":
        group = None
    elif args.requesters is None and base.requesters_everyone:
        people = ""
    return people, group


def requesters_of_args(people: str, group: str | None) -> dict[str, Any]:
    """AccountSpec's requester fields from `--requesters` and `--requester-group` (refused when neither says)."""
    if not people.strip() and not (group or "").strip():
        raise InvalidInput("Say who may request this account: --requesters U1,U2, --requester-group S123, "
                           "or --requesters everyone.", field="requesters")
    said = Requesters.build(people, group)
    return {"requesters_everyone": said.everyone, "requester_ids": tuple(sorted(said.user_ids)),
            "requester_group": said.group}


def _account_list(args: argparse.Namespace) -> int:
    rows = [account_dict(r, a) for r, a in admin_service().accounts(args.resource)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            who = ",".join(row["approvers"]) or row["approver_group"] or ("auto" if row["auto_approve"] else "admins")
            asks = "everyone" if row["requesters"] == "everyone" else \
                ",".join([*row["requesters"], *([row["requester_group"]] if row["requester_group"] else [])])
            print(f"{row['resource'] + '/' + row['name']:<32} {row['duration']:>4}  asks: {asks:<24} "
                  f"approves: {who:<24} {row['role_arn']}")
        if not rows:
            print("no accounts")
    return 0


def _account_remove(args: argparse.Namespace) -> int:
    active = admin_service().remove_account(actor=args.actor, resource=args.resource, name=args.name,
                                                trusted=True)
    print(f"account {args.resource}/{args.name} removed"
          + (f"; {active} active session(s) keep running until they end" if active else ""))
    return 0


def resource_dict(row: ResourceRead) -> dict[str, Any]:
    return {"name": row.name, "role_arn": row.role_arn, "description": row.description,
            "source_identity": row.source_identity, "created_at": row.created_at.isoformat(), "created_by": row.created_by}


def account_dict(resource: ResourceRead, row: AccountRead) -> dict[str, Any]:
    return {"resource": resource.name, "name": row.name, "role_arn": row.role_arn,
            "description": row.description, "duration": format_duration(row.default_duration_seconds),
            "approvers": list(row.approver_ids or []), "approver_group": row.approver_group,
            "approvals_required": row.approvals_required, "channel": row.approval_channel,
            "auto_approve": row.auto_approve, "auto_approve_daily_limit": row.auto_approve_daily_limit,
            "require_reason": row.require_reason, "revocation_enabled": row.revocation_enabled,
            "requesters": "everyone" if row.requesters_everyone else list(row.requester_ids or []),
            "requester_group": row.requester_group, "break_glass": row.break_glass, "escalate_to": row.escalate_to,
            "max_extensions": row.max_extensions, "extend_without_approval": row.extend_without_approval}
