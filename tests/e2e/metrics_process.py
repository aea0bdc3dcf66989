"""One process counting into PROMETHEUS_MULTIPROC_DIR, as a gunicorn worker would.

Usage: python -m tests.e2e.metrics_process GRANTS RETRIES. Counts GRANTS committed `session.granted` events and
RETRIES outbox retries of chat.postMessage, prints `done` and exits.
"""

from __future__ import annotations

import sys

from bot.runtime.metrics import Metrics, delivery_retried


def main(argv: list[str]) -> int:
    grants, retries = int(argv[0]), int(argv[1])
    metrics = Metrics()
    for _ in range(grants):
        metrics.count_event("session.granted", "ok", {})
    for _ in range(retries):
        delivery_retried("chat.postMessage")
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
