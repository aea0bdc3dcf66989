"""`pam-bot setup` and `pam-bot doctor`: what AWS needs, and a check that every configured role really works."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.services.setup import SetupInfo, SetupService


def add_setup_commands(commands: Any) -> None:
    setup = commands.add_parser("setup", help="print the ExternalId, pam-bot's AWS principal and the IAM policies")
    setup.add_argument("--account-id", default=None,
                       help="AWS account of the Resource Role when none is configured yet (default: pam-bot's own)")
    setup.add_argument("--revocation", action="store_true",
                       help="let the Resource Role write revocation policies (accounts with revocation enabled)")
    setup.add_argument("--target-path", default=None, metavar="PATH",
                       help="let Resource Roles assume the roles under this IAM path too (e.g. /pam/; "
                            "default PAM_TARGET_PATH; never /)")
    setup.add_argument("--permissions-boundary", default=None, metavar="ARN_OR_NAME",
                       help="revocation writes only on Target Roles carrying this managed policy as permissions "
                            "boundary (default PAM_PERMISSIONS_BOUNDARY)")
    setup.add_argument("--source-identity", action="store_true",
                       help="trust policies that let pam-bot set SourceIdentity (resources with --source-identity)")
    setup.add_argument("--json", action="store_true")
    setup.set_defaults(run=_setup)
    doctor = commands.add_parser("doctor", help="name the database, assume every Resource Role and chain to every "
                                               "Target Role, check Slack when SLACK_BOT_TOKEN is set; exit 1 when "
                                               "something is wrong")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(run=_doctor)


def setup_service() -> SetupService:
    """SetupService with storage and AWS, without Slack."""
    from bot.clock import utcnow
    from bot.cli.storage import cli_external_id, cli_settings, cli_storage
    from bot.runtime.container import build_broker
    from bot.services.admin import AdminService

    settings = cli_settings()
    db = cli_storage(settings)
    external_id = cli_external_id(settings, db)
    broker = build_broker(settings, external_id)
    admin = AdminService(db=db, clock=utcnow, broker=broker, env_admins=settings.admins)
    return SetupService(db=db, clock=utcnow, broker=broker, external_id=external_id, admin=admin,
                        target_path=settings.target_path, permissions_boundary=settings.permissions_boundary,
                        bot_role_arn=settings.bot_role_arn)


def _setup(args: argparse.Namespace) -> int:
    info = setup_service().info(actor=args.actor, trusted=True, account_id=args.account_id,
                                revocation=args.revocation, target_path=args.target_path,
                                permissions_boundary=args.permissions_boundary, source_identity=args.source_identity)
    print(json.dumps(info_dict(info), indent=2) if args.json else info_text(info))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from bot.cli.doctor import run_doctor

    return run_doctor(setup_service(), args)


def info_dict(info: SetupInfo) -> dict[str, Any]:
    return {"external_id": info.external_id, "principal": info.principal_arn, "trust_principal": info.trust_principal,
            "partition": info.partition,
            "policies": [{"key": d.key, "title": d.title, "where": d.where, "document": d.document}
                         for d in info.documents]}


def info_text(info: SetupInfo) -> str:
    lines = [f"ExternalId:             {info.external_id}",
             f"pam-bot's AWS principal: {info.principal_arn}"]
    if info.trust_principal != info.principal_arn:
        lines.append(f"Trust policies name:     {info.trust_principal}")
    lines.append(f"Partition:               {info.partition}")
    for number, document in enumerate(info.documents, start=1):
        lines += ["", f"{number}. {document.title}", f"   {document.where}", json.dumps(document.document, indent=2)]
    lines += ["", "Both AssumeRole hops of a grant carry one role session name, unique to that grant and naming the "
                  "person: alice@example.com+S-ABC123 (the session's reference). CloudTrail shows it as the user "
                  "name, and a revocation denies exactly that session. Resources added with --source-identity "
                  "also set SourceIdentity to the person on both hops (their trust policies need "
                  "sts:SetSourceIdentity, see `pam-bot setup --source-identity`).",
              "", "Then add the roles with `pam-bot resource add` / `pam-bot account add` (or /pam admin) "
                  "and run `pam-bot doctor`."]
    return "\n".join(lines)
