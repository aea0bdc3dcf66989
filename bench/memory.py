"""Resident memory of one serving process (a gunicorn worker) over 10,000 requests: /pam list, access, Approve.

    .venv/bin/python bench/memory.py [--db sqlite|postgresql] [--quick]
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from ack_latency import links_sent, pending_cards
from harness import APPROVERS, add_requesters, arguments, bot_env, database, machine, sandbox, seed
from load import approvals, commands, send, table, wait_until
from server import BOT_FACTORY, Server, gunicorn, hwm_kib, rss_kib

IDLE_SECONDS = 30.0  # long enough for the worker to drain what the burst left in the database

TOTAL = 10_000
ROUND = 500  # access requests per round; each round also sends as many /pam list and Approve clicks
CLIENTS = 10


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def snapshot(server: Server, label: str, sent: int) -> list[str]:
    (worker,) = server.worker_pids()
    return [label, f"{sent:,}", f"{rss_kib(worker) / 1024:.1f}", f"{hwm_kib(worker) / 1024:.1f}", str(threads(worker))]


def main() -> None:
    args = arguments(__doc__ or "")
    total, size = (1_500, 250) if args.quick else (TOTAL, ROUND)
    rows: list[list[str]] = []
    errors = 0
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        with gunicorn(BOT_FACTORY, env, Path(tmp) / "bot.log") as bot:
            rows.append(snapshot(bot, "started", 0))
            sent, rng = 0, random.Random(7)
            while sent < total:
                count = min(size, (total - sent) // 3 or 1)
                users = add_requesters(box.slack, count)
                lists = min(count, total - sent - 2 * count)
                asks = [(u, f"access {account} 30m memory run") for u in users] + [(u, "list") for u in users[:lists]]
                rng.shuffle(asks)
                errors += send(bot.events_url, commands(box.slack, asks), CLIENTS).errors
                wait_until(lambda count=count: len(pending_cards(box.slack)) >= count, 300, "approval cards")
                granted = links_sent(box.slack)
                errors += send(bot.events_url, approvals(box.slack, APPROVERS[0], pending_cards(box.slack)),
                               CLIENTS).errors
                wait_until(lambda granted=granted, count=count: links_sent(box.slack) >= granted + count, 600, "console-link DMs")
                sent += len(asks) + count
                if len(rows) == 1 or sent >= total:
                    rows.append(snapshot(bot, "after", sent))
                print(f"  {sent:,} requests sent", flush=True)
            time.sleep(IDLE_SECONDS + 5)
            rows.append(snapshot(bot, f"idle {IDLE_SECONDS + 5:.0f} s later", sent))
    print(f"\nMemory of one gunicorn worker (gthread, 16 threads), {args.db}; {machine()}")
    print(f"Requests: equal shares of /pam list, /pam access and Approve (each a full grant), {CLIENTS} clients; "
          f"non-200 answers: {errors}\n")
    print(table(["when", "requests", "RSS MiB", "peak RSS MiB", "threads"], rows))
    print("\nThreads: listeners that acked and wait for one of the 16 work slots each hold one; idle ones leave.")


if __name__ == "__main__":
    main()
