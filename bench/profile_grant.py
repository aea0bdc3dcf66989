"""Cost of one grant, counted: what the worker does between an Approve click and the DM with the link.

    .venv/bin/python bench/profile_grant.py [--db sqlite|postgresql] [--quick] [--grants N] [--top N]

Counts, not timings, so the figures hold on a busy machine: per grant, the calls the Slack stand-in, the AWS
stand-in and the federation stub answered and the connections they accepted, the SQL statements sent to the
database (a `before_cursor_execute` counter), and cProfile's call counts of the functions that cost (boto3
clients and botocore sessions built, ARN parsing, audit hashing and JSON). Wall time is printed too, as a
secondary figure, and the CPU time of the thread that ran the job, which waits (for the database, the stand-ins,
other processes on the machine) do not count in.

Everything runs in this process: the stand-ins, the web path (served in a thread, as in the tests) and the
worker, whose `run_once()` handles each click in the main thread under cProfile. No worker threads, no
scheduler: only the job being profiled touches the database while it runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness import APPROVERS, CHANNEL, SIGNING_SECRET, add_requesters, bot_env, database, machine, sandbox, seed
from load import card_ref, table

from sqlalchemy import Engine, event

from bot.config import Settings
from bot.runtime.container import Container, build
from sandbox.http import serve_wsgi
from sandbox.slack_driver import SlackDriver

# (label, module path fragment, function name): cProfile's ncalls of these, per grant.
WATCHED = (
    ("boto3 Session created", "boto3/session.py", "__init__"),
    ("botocore Session created", "botocore/session.py", "__init__"),
    ("boto3 client created", "boto3/session.py", "client"),
    ("botocore client created", "botocore/session.py", "create_client"),
    ("botocore service model loaded", "botocore/loaders.py", "load_service_model"),
    ("botocore endpoint resolver built", "botocore/regions.py", "__init__"),
    ("STS AssumeRole sent", "botocore/client.py", "_make_api_call"),
    ("role ARN parsed", "bot/domain/arns.py", "parse_role_arn"),
    ("audit event hashed", "bot/domain/audit.py", "chain_hash"),
    ("json.dumps", "json/__init__.py", "dumps"),
    ("json.loads", "json/__init__.py", "loads"),
    ("users.info (slack_sdk)", "slack_sdk/web/client.py", "users_info"),
    ("WebClient API call", "slack_sdk/web/base_client.py", "api_call"),
    ("SQLAlchemy Session opened", "sqlalchemy/orm/session.py", "begin"),
    ("Bolt dispatch", "slack_bolt/app/app.py", "dispatch"),
)


class SqlCounter:
    """Counts statements on `engine` sent from the thread that profiles (the web thread's are not ours),
    transactions as `BEGIN` on both databases (SQLite's driver sends it as a statement, psycopg does not), and the
    pool's pings before it lends a connection."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.kinds: Counter[str] = Counter()
        self.last: list[str] = []  # the statements themselves, since `mark()`
        self.seconds = 0.0  # inside the driver's execute: the round trip and the server's work
        self._thread = threading.get_ident()
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._seen)
        event.listen(engine, "after_cursor_execute", self._done)
        event.listen(engine, "begin", self._began)
        ping = engine.dialect.do_ping

        def pinged(dbapi_connection: Any) -> bool:  # a round trip the statement events do not see
            if threading.get_ident() == self._thread:
                self.kinds["(pool pings)"] += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = pinged  # type: ignore[method-assign]

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if threading.get_ident() == self._thread and not statement.lstrip().upper().startswith("BEGIN"):
            self.count += 1
            self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
            self.last.append(" ".join(statement.split()))
            self._started = time.perf_counter()

    def _done(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if threading.get_ident() == self._thread and self._started:
            self.seconds += time.perf_counter() - self._started
            self._started = 0.0

    def _began(self, conn: Any) -> None:
        if threading.get_ident() == self._thread:
            self.kinds["(transactions)"] += 1
            self.last.append("BEGIN")

    def mark(self) -> None:
        self.last = []


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database of the bot")
    parser.add_argument("--quick", action="store_true", help="fewer grants (a smoke run)")
    parser.add_argument("--grants", type=int, default=30, help="grants profiled (after 3 warm-up ones)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the last grant")
    parser.add_argument("--top", type=int, default=25, help="rows of cProfile's cumulative table")
    return parser.parse_args()


@contextmanager
def served(container: Container) -> Iterator[str]:
    url, stop = serve_wsgi(container.web)
    try:
        yield f"{url}/slack/events"
    finally:
        stop()


def drain(container: Container) -> None:
    """Handle every waiting interaction, then deliver every outbox row due now (the first card is a row)."""
    while container.worker.run_once():
        pass
    container.deliverer.drain()


def watched_counts(stats: pstats.Stats) -> dict[str, int]:
    found = dict.fromkeys((label for label, _, _ in WATCHED), 0)
    for (filename, _, name), (_, ncalls, _, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        path = filename.replace("\\", "/")
        for label, fragment, function in WATCHED:
            if name == function and path.endswith(fragment):
                found[label] += ncalls
    return found


def main() -> None:
    args = arguments()
    grants = 5 if args.quick else args.grants
    warmup = 3
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        container = build(Settings.from_env(env), aws_env=env, migrate=False)
        sql = SqlCounter(container.engine)
        profile = cProfile.Profile()
        per_grant: list[dict[str, float]] = []
        walls: list[float] = []  # pam-bot's own seconds per grant, without the profiler
        timed: list[tuple[float, float, float]] = []  # (seconds, from, to) of each, the stand-ins' part taken out later
        in_sql: list[float] = []  # of which inside the database driver's execute
        cpus: list[float] = []  # CPU seconds of the thread that ran the job (the stand-ins answer in threads of theirs)
        slack_methods: Counter[str] = Counter()
        sql_kinds: Counter[str] = Counter()
        try:
            with served(container) as events_url:
                driver = SlackDriver(events_url, SIGNING_SECRET, api=box.slack, team_id=box.slack.team_id)
                for index, user_id in enumerate(add_requesters(box.slack, warmup + 2 * grants)):
                    driver.command(user_id, f"access {account} 30m profiled grant")
                    drain(container)
                    card = box.slack.wait_for("chat.postMessage", lambda c, u=user_id: c.args.get("channel") ==
                                              CHANNEL and f"<@{u}>" in str(c.args.get("text")), timeout=30)
                    answer = driver.click(APPROVERS[0], "pam_approve", card_ref(card.args), channel_id=CHANNEL,
                                          message_ts=card.response["ts"])
                    assert answer.status == 200, answer.status
                    slack_seen, aws_seen, fed_seen = len(box.slack.calls), len(box.aws.calls()), \
                        len(box.federation.calls())
                    sql_seen, kinds_seen, sql_seconds = sql.count, Counter(sql.kinds), sql.seconds
                    opened = connections(box)
                    sql.mark()
                    measured = warmup <= index < warmup + grants  # then as many timed without the profiler
                    started, began, cpu = time.perf_counter(), time.time(), time.thread_time()
                    if measured:
                        profile.enable()
                    handled = container.worker.run_once()
                    container.deliverer.drain()  # the card updates the grant queued
                    if measured:
                        profile.disable()
                    wall, cpu = time.perf_counter() - started, time.thread_time() - cpu
                    assert handled, "the click was not in the inbox"
                    assert box.slack.dms_to(user_id), f"no DM to {user_id}"
                    if index >= warmup + grants:
                        timed.append((wall, began, time.time()))
                        in_sql.append(sql.seconds - sql_seconds)
                        cpus.append(cpu)
                    if not measured:
                        continue
                    calls = box.slack.calls[slack_seen:]
                    slack_methods.update(c.method for c in calls)
                    sql_kinds.update(sql.kinds - kinds_seen)
                    per_grant.append({
                        "wall": wall, "sql": sql.count - sql_seen, "slack": len(calls),
                        "aws": len(box.aws.calls()) - aws_seen, "signin": len(box.federation.calls()) - fed_seen,
                        "connections": connections(box) - opened,
                    })
                # A server keeps an answer's span once the answer is flushed, a moment after its client read it:
                # taken out now, every grant's last answer is counted.
                walls = [wall - stand_ins(box, began, ended) for wall, began, ended in timed]
        finally:
            container.close()
    report(args, grants, per_grant, walls, in_sql, cpus, slack_methods, sql_kinds, profile)
    if args.show_sql:
        print("\nSQL of the last grant:")
        print("\n".join(f"{n:3d}  {line[:160]}" for n, line in enumerate(sql.last, 1)))


def connections(box: Any) -> int:
    """Connections the stand-ins have accepted: against Slack and AWS each new one is a TLS handshake."""
    return int(box.slack.connections + box.aws.connections + box.federation.connections)


def stand_ins(box: Any, start: float, end: float) -> float:
    """Seconds the stand-ins' servers spent answering between `start` and `end` (`time.time()`): their HTTP work
    included, which their own records leave out (sandbox.http.ServerTime)."""
    return box.slack.served_seconds(start, end) + box.aws.served_seconds(start, end) + \
        box.federation.served_seconds(start, end)


def by_package(stats: pstats.Stats) -> list[tuple[str, int, float]]:
    """cProfile's rows summed by the package a function lives in (site-packages' top directory, pam-bot's own
    top-level package, the standard library, or functions written in C), most own time first."""
    calls: Counter[str] = Counter()
    own: Counter[str] = Counter()
    rows = stats.stats.items()  # type: ignore[attr-defined]
    for (filename, _line, _name), (_prim, ncalls, tottime, _cum, _callers) in rows:
        if filename == "~":
            package = "(C functions and methods)"
        elif "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif "/lib/python3" in filename:
            package = "(stdlib) " + filename.rsplit("/", 1)[-1]
        else:
            package = Path(filename).parts[-2] if len(Path(filename).parts) > 1 else filename
        calls[package] += ncalls
        own[package] += tottime
    return sorted(((name, calls[name], own[name]) for name in own), key=lambda row: -row[2])[:30]


def report(args: argparse.Namespace, grants: int, per_grant: list[dict[str, float]], walls: list[float],
           in_sql: list[float], cpus: list[float], slack_methods: Counter[str], sql_kinds: Counter[str],
           profile: cProfile.Profile) -> None:
    stats = pstats.Stats(profile)
    print(f"\nCost of one grant (worker: Approve click → DM), {grants} grants, {args.db}; {machine()}\n")
    rows = [["SQL statements (BEGIN not counted)", f"{statistics.mean(g['sql'] for g in per_grant):.1f}"],
            *[[f"  {kind}", f"{n / grants:.1f}"] for kind, n in sorted(sql_kinds.items())],
            ["Slack Web API calls", f"{statistics.mean(g['slack'] for g in per_grant):.1f}"],
            *[[f"  {method}", f"{n / grants:.1f}"] for method, n in sorted(slack_methods.items())],
            ["AWS calls (stand-in)", f"{statistics.mean(g['aws'] for g in per_grant):.1f}"],
            ["getSigninToken calls", f"{statistics.mean(g['signin'] for g in per_grant):.1f}"],
            ["connections opened to Slack, AWS, sign-in",
             f"{statistics.mean(g['connections'] for g in per_grant):.1f}"]]
    rows += [[label, f"{n / grants:.1f}"] for label, n in watched_counts(stats).items()]
    rows.append(["Python function calls (cProfile, all)", f"{stats.total_calls / grants:,.0f}"])  # type: ignore[attr-defined]
    print(table(["per grant", "count"], rows))
    print(f"\nWall time of the worker's job per grant, the stand-ins' servers' time taken out, {len(walls)} grants "
          f"without the profiler (secondary; noisy on a shared machine): p50 {statistics.median(walls) * 1000:.1f} ms, "
          f"p90 {sorted(walls)[int(0.9 * (len(walls) - 1))] * 1000:.1f} ms; of which inside the database driver's "
          f"execute (round trips and the server's work, commits not included) "
          f"p50 {statistics.median(in_sql) * 1000:.1f} ms. CPU time of the thread that ran the job (pam-bot's own "
          f"work without its waits; the stand-ins answer in threads of their own): p50 "
          f"{statistics.median(cpus) * 1000:.1f} ms, p90 {sorted(cpus)[int(0.9 * (len(cpus) - 1))] * 1000:.1f} ms\n")
    print("Where the calls go (cProfile's own time and calls, per package, per grant):")
    print(table(["package", "calls", "own ms"], [[name, f"{calls / grants:,.0f}", f"{own / grants * 1000:.2f}"]
                                                 for name, calls, own in by_package(stats)]))
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print("cProfile, cumulative, all grants together:")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])


if __name__ == "__main__":
    main()
