"""GET /metrics: Prometheus text counted from committed audit events and scheduler ticks."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.domain.audit import AuditEntry
from bot.runtime.metrics import Metrics
from sandbox.aws_world import trusted_by
from bot.services.sweeps import TickReport
from storage.repositories import AuditRepository
from tests.e2e.helpers import wait_dm, wait_ephemeral
from tests.fixtures_bot import APPROVER, CHANNEL, REQUESTER, Bot

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? -?[0-9.e+]+$')


def scrape(bot: Bot) -> dict[str, float]:
    with urllib.request.urlopen(f"{bot.url}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), samples
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in samples}


def ask_and_approve(bot: Bot, account: str) -> None:
    bot.driver.command(REQUESTER, f"access prod-aws {account} 30m checking")
    wait_ephemeral(bot.slack, f"`prod-aws/{account}` (30m) is waiting for approval")
    ref, card = bot.requests()[-1].ref, bot.card()
    bot.driver.click(APPROVER, "pam_approve", ref, channel_id=CHANNEL, message_ts=card["ts"])


def test_metrics_count_requests_decisions_grants_failures_and_notices(bot: Bot) -> None:
    bot.add_account()
    broken = bot.add_account(name="broken")
    bot.aws.sandbox.iam().update_assume_role_policy(
        RoleName=broken.rsplit("/", 1)[-1],
        PolicyDocument=json.dumps(trusted_by(bot.accounts["prod-aws"], "another-installation")))
    ask_and_approve(bot, "readonly")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    ask_and_approve(bot, "broken")
    wait_dm(bot.slack, REQUESTER, "could not be created")
    (session,) = bot.sessions()
    bot.clock.set(session.expires_at + timedelta(seconds=1))
    bot.container.scheduler.tick()

    values = scrape(bot)
    assert values['pam_requests_total{outcome="ok"}'] == 2
    assert sum(v for k, v in values.items() if k.startswith("pam_decisions_total") and 'verdict="approve"' in k) == 2
    assert values["pam_grants_total"] == 1
    assert values['pam_grant_failures_total{code="AccessDenied"}'] == 1
    assert values['pam_notices_total{kind="end",outcome="ok"}'] == 1
    assert values["pam_tick_duration_seconds_count"] == 1 and values["pam_tick_duration_seconds_sum"] > 0
    assert values['pam_tick_rows_total{sweep="ended"}'] == 1
    assert not [key for key in values if REQUESTER in key or "R-" in key]  # no people, no refs: low cardinality


def test_rolled_back_audit_events_are_not_counted(db: sessionmaker[Session]) -> None:
    metrics = Metrics()
    metrics.watch(db)
    now = utcnow()
    try:
        with db.begin() as session:
            AuditRepository(session).append(AuditEntry("U1", "request.create", "R-1", "ok", {}), now)
            raise RuntimeError("the use-case failed after writing its audit event")
    except RuntimeError:
        pass
    with db.begin() as session:
        with session.begin_nested():
            AuditRepository(session).append(AuditEntry("U1", "session.granted", "R-2", "ok", {}), now)
        assert metrics.value("pam_grants_total") == 0  # not before the outer transaction commits
    assert metrics.value("pam_requests_total", outcome="ok") == 0
    assert metrics.value("pam_grants_total") == 1


def test_counters_are_thread_safe_and_render_once_per_family() -> None:
    metrics = Metrics()
    threads = [threading.Thread(target=lambda: [metrics.inc("pam_grants_total") for _ in range(1000)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics.observe_tick(TickReport(warned=2), 0.25)
    metrics.count_event("session.grant", "failed", {"aws_code": 'Odd"Code\\'})
    text = metrics.render()
    assert "pam_grants_total 8000" in text
    assert 'pam_grant_failures_total{code="Odd\\"Code\\\\"} 1' in text
    assert text.count("# TYPE pam_tick_duration_seconds summary") == 1
    assert "pam_tick_duration_seconds_sum 0.25" in text and 'pam_tick_rows_total{sweep="warned"} 2' in text
