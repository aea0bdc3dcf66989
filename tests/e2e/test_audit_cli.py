"""`pam-bot audit export` round-trips the trail; `pam-bot audit verify` finds the first altered event."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update

from bot.domain.audit import AuditEntry, chain_hash
from storage.models import AuditEvent
from tests.e2e.lifecycle_helpers import command, grant_session
from tests.fixtures_bot import OUTSIDER, Bot


def pam_bot(bot: Bot, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process, on the bot's database (with `env` added)."""
    env = {**os.environ, "DATABASE_URL": bot.container.settings.database_url, "PAM_LOG_LEVEL": "WARNING",
           **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", "--actor", "cli:auditor", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def stored(bot: Bot, up_to: int) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": e.at.isoformat(timespec="microseconds"), "actor": e.actor, "action": e.action,
             "target": e.target, "outcome": e.outcome, "details": e.details, "prev_hash": e.prev_hash,
             "hash": e.hash, "scheme": e.scheme} for e in bot.audit() if e.id <= up_to]


def some_history(bot: Bot) -> None:
    bot.add_account()
    grant_session(bot)
    command(bot, OUTSIDER, "audit")  # a refusal, with its code in the details


def test_jsonl_export_round_trips_and_rechecks_by_itself(bot: Bot, tmp_path: Path) -> None:
    some_history(bot)
    out = tmp_path / "trail.jsonl"
    result = pam_bot(bot, "audit", "export", "--format", "jsonl", "--output", str(out))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records == stored(bot, records[-1]["id"])
    assert {"session.granted", "request.approve", "audit.view"} <= {r["action"] for r in records}
    previous = records[0]["prev_hash"]
    for record in records:  # anyone holding the export can re-check the chain without the database
        entry = AuditEntry(record["actor"], record["action"], record["target"], record["outcome"], record["details"])
        assert record["prev_hash"] == previous
        assert chain_hash(previous, datetime.fromisoformat(record["at"]), entry) == record["hash"]
        previous = record["hash"]
    exported = bot.audit("audit.export")
    assert [(e.actor, e.details["events"]) for e in exported] == [("cli:auditor", len(records))]


def test_csv_export_and_since(bot: Bot, tmp_path: Path) -> None:
    some_history(bot)
    events = bot.audit()
    middle = events[len(events) // 2]
    result = pam_bot(bot, "audit", "export", "--format", "csv", "--since", middle.at.isoformat())
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert [int(r["id"]) for r in rows] == [e.id for e in events if e.at >= middle.at]
    assert [json.loads(r["details"]) for r in rows] == [e.details for e in events if e.at >= middle.at]
    assert pam_bot(bot, "audit", "export", "--since", "yesterday-ish").returncode == 2


def test_verify_passes_an_intact_chain_and_names_the_first_altered_event(bot: Bot) -> None:
    some_history(bot)
    intact = pam_bot(bot, "audit", "verify")
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr

    victim = bot.audit("session.granted")[0]
    with bot.db.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == victim.id)
                        .values(details={**victim.details, "role_session_name": "someone-else"}))
    changed = pam_bot(bot, "audit", "verify")
    assert changed.returncode == 1
    assert f"BROKEN at event {victim.id}" in changed.stdout and "changed" in changed.stdout

    with bot.db.begin() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(details=victim.details))
    assert pam_bot(bot, "audit", "verify").returncode == 0
    removed = bot.audit()[2]
    with bot.db.begin() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == removed.id))
    gap = pam_bot(bot, "audit", "verify")
    following = next(e.id for e in bot.audit() if e.id > removed.id)
    assert gap.returncode == 1 and f"BROKEN at event {following}" in gap.stdout and "removed" in gap.stdout
