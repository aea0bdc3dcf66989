"""`pam-bot audit export` and `pam-bot audit verify`: the audit trail for auditors and scripts."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from pytimeparse import parse as parse_time

from bot.domain.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.services.audit import AuditService

CSV_COLUMNS = ("id", "at", "actor", "action", "target", "outcome", "details", "prev_hash", "hash", "scheme")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with one (OWASP)


def add_audit_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="export or verify the audit trail")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write events (oldest first) as JSON lines or CSV")
    export.add_argument("--since", default=None,
                        help="a date or time (2026-03-01, 2026-03-01T09:00Z) or an age (24h, 7d); default: all")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", default="-", help="file to write (default: standard output)")
    export.set_defaults(run=_export)
    verify = actions.add_parser("verify", help="check the chain and its latest checkpoint; exit 1 at the first "
                                               "altered or missing event, then sign a new checkpoint")
    verify.set_defaults(run=_verify)


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or an age like `24h` or `7d` before `now`."""
    if not text:
        return None
    seconds = parse_time(text)
    if seconds is not None and seconds > 0:
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since: {text!r} is neither a date/time like 2026-03-01T09:00Z "
                           "nor an age like 24h or 7d.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for record in records:
        row = {**record, "details": json.dumps(record["details"], sort_keys=True, default=str)}
        writer.writerow({key: neutralise(value) for key, value in row.items()})
        count += 1
    return count


def neutralise(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading `'` (OWASP's rule).

    Only the CSV is changed; JSON lines stay exact, so the chain can be re-checked from them.
    """
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _service() -> tuple[AuditService, Engine]:
    from bot.clock import utcnow
    from bot.config import Settings
    from bot.services.audit import AuditService
    from storage.db import create_db_engine, make_sessionmaker

    settings = Settings.from_env(os.environ, require_slack=False)
    engine = create_db_engine(settings.database_url)
    return AuditService(db=make_sessionmaker(engine, audit_key=settings.audit.key), clock=utcnow), engine


def _export(args: argparse.Namespace) -> int:
    service, engine = _service()
    since = parse_since(args.since, service.clock())
    write = write_csv if args.format == "csv" else write_jsonl
    try:
        service.require_writable()  # the export is itself audited: refuse before writing anything
        service.checkpoint()
        if args.output == "-":
            count = write(service.export(since=since), sys.stdout)
        else:
            with _output(args.output) as out:
                count = write(service.export(since=since), out)
        # Who took a copy of the trail is itself worth knowing.
        service.record(args.actor, "audit.export", args.output, format=args.format, events=count,
                       since=since.isoformat() if since else "")
    finally:
        engine.dispose()
    print(f"exported {count} events", file=sys.stderr)
    return 0


def _output(path: str) -> TextIO:
    """The export file, opened before anything is read: a path that cannot be written is one line, not a trace."""
    try:
        return open(path, "w", encoding="utf-8", newline="")  # the caller's `with` closes it
    except OSError as error:
        raise InvalidInput(f"--output {path}: cannot write there ({error.strerror or type(error).__name__}). "
                           "Choose a file in a folder that exists and this user may write, or `-` for standard "
                           "output.", code="output_unwritable") from None


def _verify(args: argparse.Namespace) -> int:
    service, engine = _service()
    try:
        report = service.verify()
        signed = service.checkpoint() if report.broken_at is None else None
    finally:
        engine.dispose()
    if report.broken_at is not None:
        print(f"audit chain BROKEN at event {report.broken_at}: {report.reason} "
              f"({report.checked} events before it are intact)")
        return 1
    keyed = f"{report.keyed} keyed with PAM_AUDIT_KEY" if report.keyed else "none keyed (PAM_AUDIT_KEY is not set)"
    held = (f"; matches the checkpoint of {report.checkpoint.at.isoformat(timespec='seconds')}"
            if report.checkpoint else "; no checkpoint yet")
    print(f"audit chain intact: {report.checked} events, {keyed}{held}; newest hash {report.last_hash}")
    if signed is not None:
        print(f"signed a checkpoint: {signed.count} events up to event {signed.head_id}")
    return 0
