"""Prometheus metrics without dependencies: counters fed by the audit trail as it commits, and tick timings."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PENDING = "pam_metrics_pending"
_NOTICES = {"session.warned": "warning", "session.ended": "end", "request.reminded": "reminder",
            "request.expired": "expiry"}
_DECISIONS = {"request.approve": "approve", "request.deny": "deny"}
HELP: dict[str, tuple[str, str]] = {
    "pam_requests_total": ("counter", "Access requests asked for, by outcome (ok, refused, failed)."),
    "pam_decisions_total": ("counter", "Approve/deny clicks, by verdict and outcome."),
    "pam_grants_total": ("counter", "Console sessions granted."),
    "pam_grant_failures_total": ("counter", "Approved requests that got no session, by AWS error code."),
    "pam_notices_total": ("counter", "Scheduled notices (warning, end, reminder, expiry), by outcome."),
    "pam_audit_events_total": ("counter", "Every audit event, by action and outcome."),
    "pam_tick_duration_seconds": ("summary", "Time one scheduler tick took."),
    "pam_tick_rows_total": ("counter", "Rows the scheduler's sweeps handled, by sweep."),
}


class Metrics:
    """Thread-safe counters and summaries, rendered in the Prometheus text format (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def observe_tick(self, report: Any, seconds: float) -> None:
        """Scheduler hook: how long the tick took and how many rows each sweep handled."""
        self.inc("pam_tick_duration_seconds_sum", seconds)
        self.inc("pam_tick_duration_seconds_count")
        for sweep, rows in vars(report).items():
            if rows:
                self.inc("pam_tick_rows_total", rows, sweep=sweep)

    def count_event(self, action: str, outcome: str, details: Mapping[str, Any]) -> None:
        """Derive the named counters from one committed audit event."""
        self.inc("pam_audit_events_total", action=action, outcome=outcome)
        if action == "request.create":
            self.inc("pam_requests_total", outcome=outcome)
        elif action in _DECISIONS:
            self.inc("pam_decisions_total", verdict=_DECISIONS[action], outcome=outcome)
        elif action == "session.granted":
            self.inc("pam_grants_total")
        elif action == "session.grant" and outcome == "failed":
            self.inc("pam_grant_failures_total", code=str(details.get("aws_code") or "unknown"))
        elif action in _NOTICES:
            self.inc("pam_notices_total", kind=_NOTICES[action], outcome=outcome)

    def watch(self, db: sessionmaker[Session]) -> None:
        """Count audit events of `db`'s sessions once their transaction commits (rolled-back ones never)."""
        event.listen(db, "after_flush", self._collect)
        event.listen(db, "after_commit", self._commit)
        event.listen(db, "after_soft_rollback", self._rollback)

    def _collect(self, session: Session, _context: Any) -> None:
        found = [(row.action, row.outcome, dict(row.details or {})) for row in session.new
                 if isinstance(row, AuditEvent)]
        if found:
            session.info.setdefault(_PENDING, []).extend(found)

    def _rollback(self, session: Session, previous: Any) -> None:
        if not previous.nested:  # a savepoint rolling back leaves the events around it in place
            session.info.pop(_PENDING, None)

    def _commit(self, session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint: the outer transaction may still roll back
            return
        for action, outcome, details in session.info.pop(_PENDING, ()):
            self.count_event(action, outcome, details)

    def render(self) -> str:
        """The exposition text: HELP and TYPE once per family, then its samples."""
        with self._lock:
            values = dict(self._values)
        lines: list[str] = []
        for family, (kind, text) in HELP.items():
            lines += [f"# HELP {family} {text}", f"# TYPE {family} {kind}"]
            samples = sorted((name, labels, value) for (name, labels), value in values.items()
                             if name == family or (kind == "summary" and name.startswith(f"{family}_")))
            if kind == "summary" and not samples:
                samples = [(f"{family}_sum", (), 0.0), (f"{family}_count", (), 0.0)]
            lines += [f"{name}{_labels(labels)} {_number(value)}" for name, labels, value in samples]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    escaped = (f'{key}="{_escape(value)}"' for key, value in labels)
    return "{" + ",".join(escaped) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
