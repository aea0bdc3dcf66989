"""`pam-bot doctor`'s report: each check printed as it finishes (name, ok/fail, time), or JSON at the end."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.errors import EXIT_CHECK_FAILED, EXIT_OK
from bot.runtime.errors import shown_url
from bot.services.setup import Check, DoctorReport, SetupService


def run_doctor(service: SetupService, args: argparse.Namespace) -> int:
    from bot.cli.storage import cli_settings

    settings = cli_settings()
    show = None if args.json else _print_check
    database = Check("database", True, f"pam-bot uses {shown_url(settings.database_url)}"
                     + (" with PAM_EXTERNAL_ID." if settings.external_id else f" and the ExternalId stored there "
                        f"({service.external_id})."))
    if show:
        show(database)
    report = service.doctor(actor=args.actor, trusted=True, on_check=show, slack=_slack_probe(settings),
                            default_channel=settings.approval_channel)
    report = DoctorReport((database, *report.checks))
    if args.json:
        print(json.dumps(report_dict(report), indent=2))
    else:
        print(summary(report))
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _slack_probe(settings: Any) -> Any:
    """Slack is checked when a bot token is set (the CLI runs without one too)."""
    if not settings.slack_bot_token:
        return None
    from bot.runtime.container import slack_client
    from bot.slack.probe import SlackWebProbe

    return SlackWebProbe(slack_client(settings))


def _print_check(check: Check) -> None:
    print(line(check), flush=True)
    if check.fix:
        print(f"     fix: {check.fix}", flush=True)


def line(check: Check) -> str:
    mark = "FAIL" if not check.ok else "WARN" if check.warning else "OK  "
    return f"{mark} {check.subject}: {check.detail} ({check.seconds:.2f}s)"


def summary(report: DoctorReport) -> str:
    problems = len(report.problems)
    return "everything works" if report.ok else f"{problems} problem{'s' if problems != 1 else ''} found"


def report_dict(report: DoctorReport) -> dict[str, Any]:
    return {"ok": report.ok, "checks": [{"subject": c.subject, "ok": c.ok, "detail": c.detail, "fix": c.fix,
                                         "warning": c.warning, "seconds": c.seconds} for c in report.checks]}


