"""Prometheus metrics (prometheus_client): counters fed by the audit trail as it commits, tick timings, grant
latency, Slack delivery retries, and the interaction queue read from the database at scrape time."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, Summary, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import ConfigError
from bot.runtime.queue_metrics import QueueCollector, QueueDepth
from bot.services.read_models import RequestRead
from storage.repositories.audit import WRITTEN

log = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set: every process writes its samples there; /metrics adds them up
_NOTICES = {"session.warned": "warning", "session.ended": "end", "request.reminded": "reminder",
            "request.expired": "expiry"}
_DECISIONS = {"request.approve": "approve", "request.deny": "deny"}
# Approval to link: AWS's two AssumeRole calls and the federation call take about a second; the rest is queueing.
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


@dataclass(frozen=True)
class Families:
    """The metric families of this process (one set per process, as prometheus_client intends)."""

    requests: Counter
    decisions: Counter
    grants: Counter
    grant_failures: Counter
    notices: Counter
    audit_events: Counter
    tick_duration: Summary
    tick_rows: Counter
    delivery_retries: Counter
    grant_latency: Histogram


@cache
def families() -> Families:
    """Created on first use, not at import; registered in prometheus_client's default registry."""
    disable_created_metrics()  # no `*_created` series: they double the series count and say nothing here
    return Families(
        requests=Counter("pam_requests_total", "Access requests asked for, by outcome (ok, refused, failed).",
                         ["outcome"]),
        decisions=Counter("pam_decisions_total", "Approve/deny clicks, by verdict and outcome.",
                          ["verdict", "outcome"]),
        grants=Counter("pam_grants_total", "Console sessions granted."),
        grant_failures=Counter("pam_grant_failures_total",
                               "Approved requests that got no session, by AWS error code.", ["code"]),
        notices=Counter("pam_notices_total", "Scheduled notices (warning, end, reminder, expiry), by outcome.",
                        ["kind", "outcome"]),
        audit_events=Counter("pam_audit_events_total", "Every audit event, by action and outcome.",
                             ["action", "outcome"]),
        tick_duration=Summary("pam_tick_duration_seconds", "Time one scheduler tick took."),
        tick_rows=Counter("pam_tick_rows_total", "Rows the scheduler's sweeps handled, by sweep.", ["sweep"]),
        delivery_retries=Counter("pam_delivery_retries_total",
                                 "Slack Web API calls of the outbox tried again, by method.", ["method"]),
        grant_latency=Histogram("pam_grant_latency_seconds",
                                "From the approval (or the scheduled start) to the console link's DM.",
                                buckets=LATENCY_BUCKETS),
    )


def delivery_retried(method: str) -> None:
    """The Slack outbox calls this each time it tries a Web API call again (`method`, e.g. chat.postMessage)."""
    families().delivery_retries.labels(method=method).inc()


def exposition_registry(queue: QueueCollector | None = None, env: Mapping[str, str] = os.environ) -> CollectorRegistry:
    """What one scrape reads: every process's files in multiprocess mode, else this process's default registry;
    plus the queue gauges, computed now from the database."""
    registry = CollectorRegistry(auto_describe=False)
    if env.get(MULTIPROC_ENV):
        MultiProcessCollector(registry, path=env[MULTIPROC_ENV])
    else:
        registry.register(REGISTRY)  # a registry is a collector too: it yields its families
    if queue is not None:
        registry.register(queue)
    return registry


def ensure_multiproc_dir(env: Mapping[str, str] = os.environ) -> None:
    """Create PROMETHEUS_MULTIPROC_DIR if it is set and missing: prometheus_client would otherwise fail on every
    count (and every scrape) rather than once, here, with a message."""
    path = env.get(MULTIPROC_ENV)
    if not path:
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{MULTIPROC_ENV}={path} is not a directory pam-bot can create or write "
                          f"({error.strerror}). Point it at an empty, writable directory, or unset it.") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"{MULTIPROC_ENV}={path} is not writable. Point it at an empty, writable directory, "
                          "or unset it.")


class Metrics:
    """This process's hooks into the metric families, and the /metrics text."""

    def __init__(self, *, queue: QueueDepth | None = None, clock: Callable[[], datetime] | None = None,
                 env: Mapping[str, str] = os.environ) -> None:
        ensure_multiproc_dir(env)
        self.families = families()
        self.queue = QueueCollector(queue) if queue is not None else None
        self.clock, self.env = clock, env

    def value(self, name: str, **labels: str) -> float:
        """One sample as a scrape would show it (0 when absent)."""
        return exposition_registry(self.queue, self.env).get_sample_value(name, labels) or 0.0

    def render(self) -> bytes:
        return generate_latest(exposition_registry(self.queue, self.env))

    def observe_tick(self, report: Any, seconds: float) -> None:
        """Scheduler hook: how long the tick took and how many rows each sweep handled."""
        self.families.tick_duration.observe(seconds)
        for sweep, rows in vars(report).items():
            if rows:
                self.families.tick_rows.labels(sweep=sweep).inc(rows)

    def link_sent(self, request: RequestRead) -> None:
        """Grant hook: the console link's DM went out. Latency from the approval (the auto-approval at the ask),
        or from the start a scheduled request waited for."""
        if self.clock is None:
            return
        since = max(moment for moment in (request.decided_at or request.created_at, request.starts_at) if moment)
        self.families.grant_latency.observe(max(0.0, (self.clock() - since).total_seconds()))

    def count_event(self, action: str, outcome: str, details: Mapping[str, Any]) -> None:
        """Derive the named counters from one committed audit event."""
        found = self.families
        found.audit_events.labels(action=action, outcome=outcome).inc()
        if action == "request.create":
            found.requests.labels(outcome=outcome).inc()
        elif action in _DECISIONS:
            found.decisions.labels(verdict=_DECISIONS[action], outcome=outcome).inc()
        elif action == "session.granted":
            found.grants.inc()
        elif action == "session.grant" and outcome == "failed":
            found.grant_failures.labels(code=str(details.get("aws_code") or "unknown")).inc()
        elif action in _NOTICES:
            found.notices.labels(kind=_NOTICES[action], outcome=outcome).inc()

    def watch(self, db: sessionmaker[Session]) -> None:
        """Count audit events of `db`'s sessions once their transaction commits (rolled-back ones never)."""
        event.listen(db, "after_begin", self._open)
        event.listen(db, "after_commit", self._commit)
        event.listen(db, "after_soft_rollback", self._rollback)

    def _open(self, session: Session, _transaction: Any, _connection: Any) -> None:
        session.info.setdefault(WRITTEN, [])  # the audit repository lists the events it writes there

    def _rollback(self, session: Session, previous: Any) -> None:
        if not previous.nested:  # a savepoint rolling back leaves the events around it in place
            session.info.pop(WRITTEN, None)

    def _commit(self, session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint: the outer transaction may still roll back
            return
        for action, outcome, details in session.info.pop(WRITTEN, ()):
            self.count_event(action, outcome, details)
