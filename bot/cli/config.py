"""`pam-bot apply`, `export` and `schema`: the whole configuration as one reviewed YAML file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cli.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_REFUSED
from bot.domain.config_schema import SCHEMA
from bot.services.apply import ApplyService, Outcome, Problem
from bot.services.config_plan import Plan, current_config

# Codes of checks that could not be made (AWS or Slack unreachable, pam-bot's own credentials): not the file's fault.
UNCHECKED = {"AwsUnreachable", "AwsFailed", "NoCredentials", "ExpiredToken", "ExpiredTokenException",
             "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestExpired", "Throttling", "ThrottlingException",
             "RequestLimitExceeded", "slack_check_failed", "check_failed"}
_MARKS = {"add": "+", "change": "~", "remove": "-"}


def add_config_commands(commands: Any) -> None:
    apply = commands.add_parser("apply", help="make the configuration match a YAML file: check it all, print the "
                                              "plan, then apply every change or none")
    apply.add_argument("-f", "--file", required=True, help="the configuration file (- reads standard input)")
    apply.add_argument("--dry-run", action="store_true", help="check and print the plan; change nothing")
    apply.add_argument("--prune", action="store_true",
                       help="also remove the resources, accounts and admins the file does not name")
    apply.set_defaults(run=_apply)
    commands.add_parser("export", help="print today's configuration as a file `apply` takes").set_defaults(
        run=_export)
    commands.add_parser("schema", help="print the configuration file's JSON Schema").set_defaults(
        run=_schema, uses_database=False)  # a constant: no database needed


def apply_service() -> ApplyService:
    from bot.cli.admin import admin_service

    return ApplyService(admin=admin_service())


def _apply(args: argparse.Namespace) -> int:
    from bot.services.config_file import FileError, load  # YAML and JSON Schema: loaded for the commands that read files

    source = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else _read(args.file)
        desired = load(text, source)
    except FileError as error:
        service = apply_service()
        service.record(args.actor, "config.apply", "", "refused", code="invalid_file", dry_run=args.dry_run,
                       problems=len(error.problems), first=error.problems[0][:500])
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"Nothing was changed: {source} is not a valid pam-bot configuration (see `pam-bot schema`).",
              file=sys.stderr)
        return EXIT_REFUSED
    outcome = apply_service().apply(desired, actor=args.actor, prune=args.prune, dry_run=args.dry_run)
    print(plan_text(outcome.plan))
    return _report(outcome, dry_run=args.dry_run)


def _read(path: str) -> str:
    from bot.services.config_file import FileError

    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise FileError([f"cannot read {path}: {reason}"]) from error


def _report(outcome: Outcome, *, dry_run: bool) -> int:
    if outcome.problems:
        for problem in outcome.problems:
            print(f"error: {problem.subject}: {problem.message}", file=sys.stderr)
        print(f"Nothing was changed: {len(outcome.problems)} problem(s) to fix first.", file=sys.stderr)
        return exit_code(outcome.problems)
    plan = outcome.plan
    if outcome.applied and plan.changes:
        print(f"Applied: {plan.count('add')} added, {plan.count('change')} changed, {plan.count('remove')} removed.")
    elif dry_run and plan.changes:
        print("Dry run: nothing was changed.")
    return EXIT_OK


def exit_code(problems: tuple[Problem, ...]) -> int:
    """2 (refused) when the file is wrong somewhere; 1 when every problem is a check that could not be made."""
    return EXIT_CHECK_FAILED if all(p.code in UNCHECKED for p in problems) else EXIT_REFUSED


def plan_text(plan: Plan) -> str:
    """The plan like `terraform plan`: + add, ~ change (field: before → after), - remove, then the counts."""
    lines = []
    for change in plan.changes:
        lines.append(f"  {_MARKS[change.action]} {change.kind} {change.subject}")
        for name, before, after in change.fields:
            lines.append(f"      {name}: {_value(after)}" if change.action == "add" else
                         f"      {name}: {_value(before)} → {_value(after)}")
    if plan.kept:
        lines.append(f"Not in the file, kept (--prune removes them): {', '.join(plan.kept)}")
    if not plan.changes:
        lines.append("No changes: pam-bot's configuration matches the file.")
    else:
        lines.append(f"Plan: {plan.count('add')} to add, {plan.count('change')} to change, "
                     f"{plan.count('remove')} to remove.")
    return "\n".join(lines)


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _export(args: argparse.Namespace) -> int:
    from bot.services.config_file import dump

    service = apply_service()
    with service.transaction() as tx:
        config = current_config(tx)
    sys.stdout.write(dump(config))
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(SCHEMA, indent=2, ensure_ascii=False))
    return 0
