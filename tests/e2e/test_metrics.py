"""GET /metrics: Prometheus text counted from committed audit events and scheduler ticks, and the queue's gauges."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.domain.audit import AuditEntry
from bot.runtime.metrics import Metrics, delivery_retried
from bot.services.inbox import Inbox
from bot.services.sweeps import TickReport
from sandbox.aws_world import trusted_by
from storage.db import create_db_engine, make_sessionmaker
from storage.models import AccessRequest, Decision
from storage.repositories import AuditRepository
from tests.e2e.helpers import wait_dm, wait_ephemeral, wait_for
from tests.e2e.test_access_flow import ask, click, wait_status
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


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What each series gained between two scrapes (counters are per process, and tests share the process)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


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
    before = scrape(bot)
    ask_and_approve(bot, "readonly")
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    ask_and_approve(bot, "broken")
    wait_dm(bot.slack, REQUESTER, "could not be created")
    (session,) = bot.sessions()
    bot.clock.set(session.expires_at + timedelta(seconds=1))
    bot.container.scheduler.tick()
    bot.settle()  # the failed grant's job may still be finishing after its DM: the queue must be empty first

    after = scrape(bot)
    values = grown(before, after)
    assert values['pam_requests_total{outcome="ok"}'] == 2
    assert sum(v for k, v in values.items() if k.startswith("pam_decisions_total") and 'verdict="approve"' in k) == 2
    assert values["pam_grants_total"] == 1
    assert values['pam_grant_failures_total{code="AccessDenied"}'] == 1
    assert values['pam_notices_total{kind="end",outcome="ok"}'] == 1
    assert values["pam_tick_duration_seconds_count"] == 1 and values["pam_tick_duration_seconds_sum"] > 0
    assert values['pam_tick_rows_total{sweep="ended"}'] == 1
    assert values["pam_grant_latency_seconds_count"] == 1  # the granted one; the failed one sent no link
    assert after["pam_queue_depth"] == 0 and after["pam_queue_database_up"] == 1
    assert not [key for key in after if REQUESTER in key or "R-" in key]  # no people, no refs: low cardinality


def test_queue_depth_and_oldest_age_count_the_rows_no_worker_has_finished(bot: Bot) -> None:
    bot.add_account()
    bot.container.worker.stop()
    bot.driver.command(REQUESTER, "access prod-aws readonly 30m checking")
    bot.clock.advance(timedelta(seconds=12))
    bot.driver.command(REQUESTER, "list")
    bot.clock.advance(timedelta(seconds=3))
    values = scrape(bot)
    assert values["pam_queue_depth"] == 2 and values["pam_queue_oldest_age_seconds"] == 15

    bot.container.worker.start()
    wait_ephemeral(bot.slack, "is waiting for approval")
    bot.settle()
    values = scrape(bot)
    assert values["pam_queue_depth"] == 0 and values["pam_queue_oldest_age_seconds"] == 0


def test_a_scrape_answers_while_the_database_is_down() -> None:
    engine = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:9/nothing?connect_timeout=2")
    try:
        metrics = Metrics(queue=Inbox(db=make_sessionmaker(engine), clock=utcnow).depth)
        text = metrics.render().decode()
    finally:
        engine.dispose()
    assert "pam_queue_database_up 0.0" in text
    assert "pam_queue_depth " not in text and "pam_grants_total" in text  # the rest of the scrape is intact


def test_grant_latency_runs_from_the_approval_to_the_link(bot: Bot) -> None:
    """A grant cut off by a dead worker is finished after the lease: the histogram shows the ~31 s it took."""
    bot.add_account()
    ref = ask(bot)
    bot.container.worker.stop()
    click(bot, APPROVER, "pam_approve", ref)
    bot.container.inbox.claim()  # a worker claims the click, records the approval, then dies before the grant
    with bot.db.begin() as session:
        request = session.scalars(select(AccessRequest).where(AccessRequest.ref == ref)).one()
        session.add(Decision(request_id=request.id, approver_id=APPROVER, team_id="T0PAM", verdict="approve",
                             reason="", created_at=bot.clock()))
        request.status, request.decided_at = "approved", bot.clock()
    before = scrape(bot)
    bot.container.worker.start()
    bot.clock.advance(timedelta(seconds=31))
    wait_dm(bot.slack, REQUESTER, "Open AWS Console")
    wait_status(bot, ref, "granted")

    def observed() -> dict[str, float] | None:  # once Slack has answered the DM: just after the stand-in recorded it
        values = grown(before, scrape(bot))
        return values if values.get("pam_grant_latency_seconds_count") else None

    values = wait_for(observed, "the grant latency to be observed")
    assert values["pam_grant_latency_seconds_count"] == 1 and values["pam_grant_latency_seconds_sum"] >= 31
    assert values['pam_grant_latency_seconds_bucket{le="30.0"}'] == 0
    assert values['pam_grant_latency_seconds_bucket{le="60.0"}'] == 1


def test_delivery_retries_are_counted_by_method(bot: Bot) -> None:
    before = scrape(bot)
    delivery_retried("chat.postMessage")
    delivery_retried("chat.postMessage")
    delivery_retried("chat.update")
    values = grown(before, scrape(bot))
    assert values['pam_delivery_retries_total{method="chat.postMessage"}'] == 2
    assert values['pam_delivery_retries_total{method="chat.update"}'] == 1


def test_rolled_back_audit_events_are_not_counted(db: sessionmaker[Session]) -> None:
    metrics = Metrics()
    metrics.watch(db)
    requests, grants = metrics.value("pam_requests_total", outcome="ok"), metrics.value("pam_grants_total")
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
        assert metrics.value("pam_grants_total") == grants  # not before the outer transaction commits
    assert metrics.value("pam_requests_total", outcome="ok") == requests
    assert metrics.value("pam_grants_total") == grants + 1


def test_labels_are_escaped_and_each_family_is_described_once() -> None:
    metrics = Metrics()
    rows = metrics.value("pam_tick_rows_total", sweep="warned")
    metrics.observe_tick(TickReport(warned=2), 0.25)
    metrics.count_event("session.grant", "failed", {"aws_code": 'Odd"Code\\'})
    text = metrics.render().decode()
    assert re.search(r'^pam_grant_failures_total\{code="Odd\\"Code\\\\"\} [1-9]', text, re.MULTILINE)
    assert text.count("# TYPE pam_tick_duration_seconds summary") == 1
    assert text.count("# TYPE pam_grants_total counter") == 1
    assert metrics.value("pam_tick_rows_total", sweep="warned") == rows + 2
