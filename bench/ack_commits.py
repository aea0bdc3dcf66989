"""Concurrent acks' commits on PostgreSQL: the web path's record (`Inbox.record`) from 1, 10 and 16 threads at once
(16: a gunicorn web process's threads), against the same INSERT sent alone, in the same run.

    .venv/bin/python bench/ack_commits.py --db postgresql [--quick] [--acks N]

Three ways, each on the same scratch schema ($PAM_BENCH_POSTGRES_URL, else the local test database):
- the INSERT alone (`send_interaction`, no announcement): the floor;
- pam-bot: `Inbox.record`, the INSERT, then the row announced to the workers of other processes after its commit
  (storage/autocommit.py `Announcer`);
- as before migration 0018: the schema downgraded to 0017, whose trigger NOTIFYs inside the INSERT's own transaction.
A worker's listener (bot/runtime/wakeups.py) hears the notifications all along; how many it heard is printed per 100
acks. Each thread's latency is from the call to its return (the row committed); rate = acks per second of wall time.
On SQLite (one process, nothing to announce) it says so and stops. Figures are printed, never asserted.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from harness import arguments, database, machine
from load import Result, table
from sqlalchemy import Engine, text

from bot.clock import utcnow
from bot.runtime.wakeups import Wakeups
from bot.services.inbox import Inbox
from storage.autocommit import send_interaction
from storage.db import alembic_config, create_db_engine, make_sessionmaker, upgrade

THREADS = (1, 10, 16)
ACKS = 1600  # per level and way
BODY = {"command": "/pam", "text": "access bench acct0 30m bench run", "user_id": "U0BENCH", "team_id": "T0BENCH",
        "channel_id": "C0BENCH", "response_url": "https://hooks.slack.com/commands/T0BENCH/1/abc",
        "trigger_id": "1.2.abc"}


def timed(record: Callable[[], object], threads: int, acks: int) -> Result:
    """`acks` calls of `record` shared by `threads` threads started together: each call's seconds, and the wall."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    each = acks // threads

    def run() -> None:
        mine = []
        start.wait()
        for _ in range(each):
            began = time.perf_counter()
            record()
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return Result(latencies, [200] * len(latencies), time.perf_counter() - began)


def main() -> None:
    args = arguments(__doc__ or "", lambda parser: parser.add_argument("--acks", type=int, default=ACKS))
    if args.db != "postgresql":
        print("ack_commits.py measures PostgreSQL's commits (--db postgresql); nothing to do on SQLite")
        return
    acks = 160 if args.quick else args.acks
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as url:
        engine = create_db_engine(url, pool_size=max(THREADS) + 2)
        upgrade(engine)
        heard = [0]
        wakeups = Wakeups(engine.url)
        wakeups.start(lambda: heard.__setitem__(0, heard[0] + 1))
        inbox = Inbox(db=make_sessionmaker(engine), clock=utcnow)
        ways: list[tuple[str, Callable[[], object], str]] = [
            ("INSERT alone", lambda: send_interaction(engine, "slash_command", BODY, utcnow()), "head"),
            ("pam-bot: INSERT, then announced", lambda: inbox.record("slash_command", BODY), "head"),
            ("before 0018: INSERT that NOTIFYs", lambda: send_interaction(engine, "slash_command", BODY, utcnow()),
             "0017"),
        ]
        try:
            for threads in THREADS:
                baseline = 0.0
                for name, record, revision in ways:
                    at(engine, revision)
                    timed(record, threads, min(acks, 100))  # warm: the pool's connections opened
                    time.sleep(0.3)
                    clear(engine)
                    before = heard[0]
                    result = timed(record, threads, acks)
                    time.sleep(0.3)  # the last announcements are heard
                    p50, p99 = result.percentile(50), result.percentile(99)
                    baseline = baseline or p99
                    rows.append([str(threads), name, str(len(result.latencies)), f"{p50 * 1000:.2f}",
                                 f"{p99 * 1000:.2f}", f"{p99 / baseline:.2f}", f"{result.rate:.0f}",
                                 f"{100 * (heard[0] - before) / len(result.latencies):.1f}"])
                    print(f"  {threads} threads, {name}: done", flush=True)
        finally:
            wakeups.stop()
            at(engine, "head")
            engine.dispose()
    print(f"\nThe ack's commit under concurrency, PostgreSQL; {machine()}")
    print("latency of one record (the row committed) in ms; p99 ratio = this way's p99 / the INSERT alone's; "
          "heard = notifications a listening worker heard per 100 acks\n")
    print(table(["threads", "way", "acks", "p50", "p99", "p99 ratio", "acks/s", "heard"], rows))


def at(engine: Engine, revision: str) -> None:
    """The scratch schema at `revision` (0017 has the inbox's NOTIFY trigger; head has none)."""
    config = alembic_config(engine)
    if revision == "head":
        upgrade(engine)
    else:
        command.downgrade(config, revision)


def clear(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM interactions"))


if __name__ == "__main__":
    main()
