"""`pam-bot doctor` as an operator runs it: each check as it finishes, Slack checked too, network hints."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Account

from tests.e2e.test_deploy import BIN, free_port
from tests.fixtures_bot import APPROVER, CHANNEL, GROUP, Bot, bot_env


@pytest.fixture
def doctor_env(bot: Bot, tmp_path: Path) -> dict[str, str]:
    env = bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws)
    return {**env, "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pam-bot"), "doctor", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    report = json.loads(result.stdout)
    assert set(report) >= {"ok", "checks"}
    for check in report["checks"]:
        assert set(check) >= {"subject", "ok", "detail", "fix"}
    return {check["subject"]: check for check in report["checks"]}


def test_each_check_is_printed_as_it_finishes_with_its_time(bot: Bot, doctor_env: dict[str, str]) -> None:
    bot.add_account()
    bot.slack.delay_next("conversations.info", 3.0)
    process = subprocess.Popen([str(BIN / "pam-bot"), "doctor"], env=doctor_env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    arrived: list[tuple[float, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        arrived.append((time.monotonic(), line.rstrip("\n")))
    process.wait(timeout=60)
    ended = time.monotonic()
    assert process.returncode == 0, arrived
    first = next(at for at, text in arrived if text.startswith("OK   pam-bot's AWS identity"))
    assert ended - first >= 2.5  # printed while the slow Slack check was still running
    channel = next(text for _, text in arrived if text.startswith(f"OK   approval channel {CHANNEL}"))
    assert float(channel.rsplit("(", 1)[1].rstrip("s)")) >= 2.9
    assert arrived[0][1].startswith("OK   database: pam-bot uses ") and arrived[-1][1] == "everything works"


def test_doctor_checks_the_slack_side(bot: Bot, doctor_env: dict[str, str]) -> None:
    bot.slack.add_channel("COUTSIDE", name="outside", is_member=False)
    bot.add_account(approver_ids=(APPROVER,))
    bot.add_account(name="admin", approver_ids=(), approver_group=GROUP, approval_channel=CHANNEL)
    bot.add_account(name="team", approver_ids=(), approver_group=GROUP, approval_channel=CHANNEL)
    # Saving checks ids against Slack now; what went wrong since (a person left, a group was deleted, the bot
    # was removed from a channel) is what doctor finds in saved rows.
    with bot.db.begin() as session:
        for account in session.scalars(select(Account)):
            if account.name == "readonly":
                account.approver_ids, account.approval_channel = [APPROVER, "UGHOST01"], "COUTSIDE"
            elif account.name == "admin":
                account.approver_group = "SNOSUCH"
    result = doctor(doctor_env, "--json")
    assert result.returncode == 1
    found = checks(result)
    assert found["Slack token"]["ok"] and found[f"approval channel {CHANNEL}"]["ok"]
    outside = found["approval channel COUTSIDE"]
    assert not outside["ok"] and "not a member" in outside["detail"] and "/invite @pam-bot" in outside["fix"]
    assert found[f"approver {APPROVER}"]["ok"] and not found["approver UGHOST01"]["ok"]
    assert not found["user group SNOSUCH"]["ok"] and found[f"user group {GROUP}"]["ok"]
    assert all(isinstance(c["seconds"], float) for c in found.values())

    revoked = doctor({**doctor_env, "SLACK_BOT_TOKEN": "xoxb-revoked"}, "--json")
    token = checks(revoked)["Slack token"]
    assert not token["ok"] and "invalid_auth" in token["detail"] and "SLACK_BOT_TOKEN" in token["fix"]


def test_network_failures_get_network_hints_not_credential_hints(bot: Bot, doctor_env: dict[str, str]) -> None:
    bot.add_account()
    closed = f"http://127.0.0.1:{free_port()}"
    result = doctor({**doctor_env, "AWS_ENDPOINT_URL": closed, "SLACK_API_URL": f"{closed}/api/"}, "--json")
    assert result.returncode == 1
    found = checks(result)
    identity = found["pam-bot's AWS identity"]
    assert not identity["ok"] and "Not a credentials problem" in identity["fix"]
    assert "credentials (AWS_*" not in identity["fix"]
    slack = found["Slack token"]
    assert not slack["ok"] and "slack_unreachable" in slack["detail"] and "Not a token problem" in slack["fix"]
