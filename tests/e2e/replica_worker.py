"""One scheduler replica in its own OS process: the real container on DATABASE_URL (its worker delivering the
outbox), ticking until nothing is due, then delivering until its outbox is empty.

Usage: python -m tests.e2e.replica_worker NOW_ISO BATCH. It prints `ready` once built, waits for a line on
standard input (so that every replica starts at once), then prints its totals as JSON and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime.container import Container, build
from storage.models import AccessSession

DEADLINE_SECONDS = 45


def due(container: Container, now: datetime, warning: timedelta) -> int:
    """Sessions some replica still has to end or warn (claimed ones included)."""
    with container.db.begin() as session:
        return session.scalar(select(func.count()).select_from(AccessSession).where(
            AccessSession.status == "active",
            or_(AccessSession.expires_at <= now,
                (AccessSession.warned_at.is_(None)) & (AccessSession.expires_at <= now + warning)))) or 0


def main(argv: list[str]) -> int:
    now, batch = datetime.fromisoformat(argv[0]), int(argv[1])
    container = build(Settings.from_env(os.environ), clock=ManualClock(now), migrate=False)
    sweeps = container.services.sweeps
    sweeps.batch = batch  # small batches, so that replicas take turns on the same due rows
    print("ready", flush=True)
    sys.stdin.readline()
    container.worker.start()  # as in production, each replica also delivers the outbox its ticks fill
    totals: Counter[str] = Counter()
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while time.monotonic() < deadline:
            totals.update({k: v for k, v in vars(sweeps.tick()).items() if v})
            if due(container, now, sweeps.warning) == 0:
                break
            time.sleep(0.01)
        while time.monotonic() < deadline and not container.outbox.idle():  # the replicas render and send
            time.sleep(0.5)
    finally:
        container.close()
    print(json.dumps(dict(totals)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
