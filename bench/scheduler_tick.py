"""Cost of one scheduler tick (warning and end sweeps) over 100,000 sessions with 0, 100 and 1,000 due.

    .venv/bin/python bench/scheduler_tick.py [--sessions N] [--runs R]

Works in a scratch schema of PostgreSQL ($PAM_BENCH_POSTGRES_URL, else the local test database) that it drops
at the end. The tick claims the due rows through the partial indexes, marks them and queues one small outbox row
per notice, as in production; the outbox's workers render each notice afterwards (its messages through the real
outbox notifier, and its audit event), so rendering is timed apart: once per row, after the ticks, as the
outbox's `render_notice` does it, one notice per transaction. Half the due sessions are due for their end
notice, half for their warning. As in production, every request has an approval
card (an ended session also queues that card's update) and every session's link DM has landed (so the sweep for
lost links has nothing to do, but still looks).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from bot.clock import ManualClock
from bot.services.grants import GrantService
from bot.services.notices import NOTICE
from bot.services.outbox import Outbox
from bot.services.sweeps import SweepService
from bot.slack.outbox_notifier import OutboxNotifier
from storage.db import create_db_engine, make_sessionmaker, upgrade

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/bench"
TARGET_MS = 50  # the tick itself, 1,000 sessions due among 100,000


def fill(engine: Engine, sessions: int) -> None:
    """`sessions` granted requests with active sessions ending from an hour from now on: none of them due."""
    with engine.begin() as connection:
        connection.execute(text("""
            INSERT INTO access_requests (id, ref, requester_id, team_id, resource_name, account_name,
                resource_role_arn, target_role_arn, duration_seconds, reason, status, approvals_required,
                auto_approved, created_at, updated_at, grant_attempts, notice_failures, cards)
            SELECT g, 'R-' || g, 'U' || (g % 500), 'T1', 'prod', 'ro', :role, :role, 3600, '', 'granted', 1,
                false, :now - interval '1 hour', :now - interval '1 hour', 1, 0,
                ('[{"channel": "C0APPROVALS", "ts": "1700000000.' || lpad(g::text, 6, '0') || '"}]')::json
            FROM generate_series(1, :n) AS g"""), {"n": sessions, "now": NOW, "role": ROLE})
        connection.execute(text("""
            INSERT INTO sessions (id, ref, request_id, requester_id, resource_name, account_name,
                resource_role_arn, target_role_arn, role_session_name, assumed_role_arn, status, started_at,
                expires_at, revocation_applied, notice_failures, link_channel, link_ts)
            SELECT g, 'S-' || g, g, 'U' || (g % 500), 'prod', 'ro', :role, :role, 'user' || g, :assumed || g,
                'active', :now, :now + interval '1 hour' + g * interval '1 second', false, 0,
                'DU' || (g % 500), '1700000000.' || lpad(g::text, 6, '0')
            FROM generate_series(1, :n) AS g"""), {"n": sessions, "now": NOW, "role": ROLE, "assumed": f"{ROLE}/u"})
        connection.execute(text("ANALYZE"))


def make_due(engine: Engine, due: int) -> None:
    """Reset every session to not due, then make `due` of them due (half to end, half to warn)."""
    with engine.begin() as connection:
        connection.execute(text("""
            UPDATE sessions SET status = 'active', warned_at = NULL, ended_at = NULL,
                expires_at = :now + interval '1 hour' + id * interval '1 second'
            WHERE status <> 'active' OR warned_at IS NOT NULL OR expires_at < :now + interval '1 hour'"""),
                           {"now": NOW})
        connection.execute(text("""
            UPDATE sessions SET expires_at = :now - interval '1 minute', warned_at = :now - interval '6 minutes'
            WHERE id <= :ending"""), {"now": NOW, "ending": due // 2})
        connection.execute(text("""
            UPDATE sessions SET expires_at = :now + interval '2 minutes'
            WHERE id > :ending AND id <= :due"""), {"now": NOW, "ending": due // 2, "due": due})
        connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text("DELETE FROM deliveries"))
        connection.execute(text("ANALYZE sessions"))


def one_tick(sweeps: SweepService) -> tuple[float, int]:
    started = time.perf_counter()
    handled = sweeps.end_sessions() + sweeps.warn_sessions()
    return time.perf_counter() - started, handled


def render_all(outbox: Outbox, sweeps: SweepService) -> tuple[float, int]:
    """Render every notice the tick queued, as an outbox worker would (its Slack rows stay queued)."""
    started, rendered = time.perf_counter(), 0
    while jobs := [job for job in outbox.claim(1) if job.kind == NOTICE]:  # one claim, a batch rendered
        rendered += sum(sweeps.render_notice(job) for job in jobs)
    return time.perf_counter() - started, rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="ticks measured per row (the median is shown)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql",
                        help="ignored: the tick is measured on PostgreSQL, the database for many sessions and "
                             "replicas (accepted so run_all.py can pass its options on)")
    parser.add_argument("--quick", action="store_true", help="10,000 sessions instead of 100,000 (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.sessions = min(args.sessions, 10_000)
    base = os.environ.get("PAM_BENCH_POSTGRES_URL", DEFAULT_URL)
    schema = f"pam_bench_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_db_engine(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, args.sessions)
        print(f"PostgreSQL, scratch schema {schema}: {args.sessions:,} sessions written in "
              f"{time.perf_counter() - started:.1f}s; median of {args.runs} ticks per row\n")
        db, clock = make_sessionmaker(engine), ManualClock(NOW)
        # Warning and end notices only queue: no direct Slack client, no directory.
        outbox = Outbox(db=db, clock=clock)
        notifier = OutboxNotifier(outbox, None, directory=None,  # type: ignore[arg-type]
                                  default_channel=None, admin_ids=frozenset)
        # Warning and end sweeps never grant: the grant service gets no AWS and no directory.
        grants = GrantService(db=db, clock=clock, broker=None, directory=None,  # type: ignore[arg-type]
                              notifier=notifier)  # type: ignore[arg-type]
        sweeps = SweepService(db=db, clock=clock, notifier=notifier, grants=grants,  # type: ignore[arg-type]
                              warning=timedelta(minutes=5), request_timeout=timedelta(hours=1))
        rows = []
        for due in (0, 100, 1000):
            times = []
            for _ in range(args.runs):
                make_due(engine, due)
                elapsed, handled = one_tick(sweeps)
                assert handled == due, (handled, due)
                times.append(elapsed)
            rendering, rendered = render_all(outbox, sweeps)  # the last run's notices
            assert rendered == due, (rendered, due)
            rows.append((due, statistics.median(times), rendering))
        baseline = rows[0][1]
        print(f"{'sessions':>9} {'due':>6} {'tick ms':>9} {'ms per due':>11} {'vs 0 due':>9} "
              f"{'render ms per notice (outbox)':>30}")
        for due, elapsed, rendering in rows:
            per_due = f"{elapsed * 1000 / due:.3f}" if due else "-"
            per_notice = f"{rendering * 1000 / due:.2f}" if due else "-"
            print(f"{args.sessions:>9,} {due:>6,} {elapsed * 1000:>9.2f} {per_due:>11} {elapsed / baseline:>8.1f}x "
                  f"{per_notice:>30}")
        print(f"\ntarget: the tick with 1,000 due ≤ {TARGET_MS} ms; measured {rows[-1][1] * 1000:.0f} ms "
              f"({'met' if rows[-1][1] * 1000 <= TARGET_MS else 'not met'})")
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
