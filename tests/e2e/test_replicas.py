"""Three scheduler processes on one PostgreSQL database: a few hundred notices due at once, each sent exactly once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.services.audit import AuditService
from storage.models import AccessRequest, AccessSession
from tests.fixtures_bot import ADMIN, APPROVER, APPROVER_2, GROUP_MEMBER, OUTSIDER, REQUESTER, Bot, bot_env

ENDING, WARNING = 300, 100
REPLICAS, BATCH = 3, 20
PEOPLE = (REQUESTER, APPROVER, APPROVER_2, ADMIN, OUTSIDER, GROUP_MEMBER)
ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/pam-target-replicas"


def insert_sessions(bot: Bot, now: datetime) -> tuple[set[str], set[str]]:
    """ENDING sessions already over and WARNING ones ending within the warning window, straight into the tables."""
    ending = {f"S-E{index:05d}" for index in range(ENDING)}
    warning = {f"S-W{index:05d}" for index in range(WARNING)}
    with bot.db.begin() as session:
        for index, ref in enumerate(sorted(ending) + sorted(warning)):
            owner = PEOPLE[index % len(PEOPLE)]
            request = AccessRequest(
                ref=f"R-{ref[2:]}", requester_id=owner, team_id="T0PAM", account_id=None, resource_name="prod-aws",
                account_name="readonly", resource_role_arn=ROLE, target_role_arn=ROLE, duration_seconds=1800,
                reason="", status="granted", created_at=now - timedelta(minutes=40),
                updated_at=now - timedelta(minutes=40), cards=[])
            session.add(request)
            session.flush()
            over = ref in ending
            session.add(AccessSession(
                ref=ref, request_id=request.id, requester_id=owner, account_id=None, resource_name="prod-aws",
                account_name="readonly", resource_role_arn=ROLE, target_role_arn=ROLE,
                role_session_name=f"user-{index}", assumed_role_arn=f"{ROLE}/user-{index}", status="active",
                started_at=now - timedelta(minutes=30),
                expires_at=now - timedelta(minutes=1) if over else now + timedelta(minutes=2),
                warned_at=now - timedelta(minutes=6) if over else None,
                link_channel=f"D{owner}", link_ts=f"1700000000.{index:06d}"))  # its link DM landed
    return ending, warning


def start_replicas(bot: Bot, now: datetime) -> list[subprocess.Popen[str]]:
    env = {**os.environ, **bot_env(database_url=bot.container.settings.database_url, slack=bot.slack, aws=bot.aws),
           "PAM_AUTO_MIGRATE": "false", "PAM_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen([sys.executable, "-m", "tests.e2e.replica_worker", now.isoformat(), str(BATCH)],
                             cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(REPLICAS)]


def sent(bot: Bot, pattern: str) -> Counter[str]:
    """How many accepted chat.postMessage calls name each session, for messages matching `pattern`."""
    found = re.compile(pattern)
    return Counter(match.group(1) for call in bot.slack.calls_to("chat.postMessage") if call.ok
                   for match in [found.search(str(call.args.get("text", "")))] if match)


def test_three_replicas_send_every_notice_exactly_once(bot: Bot, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is the single-process default; replicas need PostgreSQL")
    now = bot.clock()
    ending, warning = insert_sessions(bot, now)
    replicas = start_replicas(bot, now)
    try:
        for replica in replicas:
            assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
        for replica in replicas:  # all built: let them loose together
            assert replica.stdin is not None
            replica.stdin.write("go\n")
            replica.stdin.flush()
        totals = [json.loads(replica.communicate(timeout=60)[0].strip().splitlines()[-1]) for replica in replicas]
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
    assert all(replica.returncode == 0 for replica in replicas)
    bot.settle_outbox(timeout=60)  # what the replicas queued and had not delivered yet, this process delivers

    ended, warned = sent(bot, r"session (S-E\d+) on .* has ended"), sent(bot, r"session (S-W\d+) ends")
    assert set(ended) == ending and set(ended.values()) == {1}
    assert set(warned) == warning and set(warned.values()) == {1}
    assert sum(t.get("ended", 0) for t in totals) == ENDING and sum(t.get("warned", 0) for t in totals) == WARNING
    assert sum(1 for t in totals if t) >= 2, f"the replicas did not share the work: {totals}"
    assert not [c for c in bot.slack.calls_to("chat.postMessage") if not c.ok]

    rows = {s.ref: s for s in bot.sessions()}
    assert all(rows[ref].status == "ended" for ref in ending)
    assert all(rows[ref].warned_at == now and rows[ref].status == "active" for ref in warning)
    audited = Counter(e.target for e in bot.audit() if e.action in ("session.ended", "session.warned"))
    assert audited == Counter(ending | warning)
    report = AuditService(db=bot.db, clock=bot.clock).verify()
    assert report.broken_at is None and report.checked == len(bot.audit())
