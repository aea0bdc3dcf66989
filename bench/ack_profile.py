"""CPU per ack, in-process: pam-bot's web WSGI app (verify, record, ack) against a bare Bolt app, with cProfile.

    .venv/bin/python bench/ack_profile.py [--db sqlite|postgresql] [--requests N] [--top K]

Signed `/pam access` commands and Approve clicks, built as bench/ack_latency.py builds them, are handed to each
WSGI app in this process, one at a time, no server and no worker running while they are timed (the worker runs
between the two kinds only, to post the approval cards the clicks need). Two passes of N requests each: the first
without a profiler (CPU and wall time per request), the second under cProfile (calls per request and the top of
the profile). "serving thread CPU" is `time.thread_time()` of the thread that called the app: what the web
process spends per ack. "process CPU" adds every other thread of this process, among them the in-process Slack
stand-in answering the bot's calls and the bare app's listener executor. SQL statements and transactions are
counted on the bot's engine, Slack calls on the stand-in. Figures are printed, never asserted.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import APPROVERS, BOT_TOKEN, CHANNEL, SIGNING_SECRET, add_requesters, arguments, bot_env, database, \
    machine, sandbox, seed
from load import Prepared, approvals, commands, table, wait_until
from sqlalchemy import event

from bot.config import Settings
from bot.logs import configure_logging
from bot.runtime.container import Container, build
from sandbox.slack_api import SlackApiStandIn
from sandbox.sql_statements import sent_statements

WARM_UP = 5  # requests of each kind sent first and not counted (first-use imports, caches, pool connections)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Pass:
    """One app, one kind of request, N requests."""

    requests: int = 0
    thread_cpu: float = 0.0
    process_cpu: float = 0.0
    wall: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    statements: Counter[str] = field(default_factory=Counter)
    slack: Counter[str] = field(default_factory=Counter)
    calls: int = 0  # Python function calls (cProfile pass)
    profile: str = ""


def environ(item: Prepared) -> dict[str, Any]:
    body, headers = item
    found = {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
             "SERVER_PORT": "3000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
             "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        found[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return found


def call(app: WsgiApp, item: Prepared) -> int:
    status: list[str] = []
    body = app(environ(item), lambda line, headers, *_: status.append(line))
    b"".join(body)
    return int(status[0].split()[0])


@contextmanager
def counted(run: Pass, engine: Any, slack: SlackApiStandIn) -> Iterator[None]:
    """SQL statements (first word) and Slack calls made while the block runs; "(transactions)" counts SQLAlchemy's.
    On PostgreSQL the statements are counted where psycopg's cursors send them (a cursor factory on each connection
    the pool lends), so the ack's INSERT, which psycopg sends without SQLAlchemy, counts too."""
    def statement(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        run.statements[text.lstrip().split(None, 1)[0].upper()] += 1

    def begin(_conn: Any) -> None:
        run.statements["(transactions)"] += 1

    before = len(slack.calls)
    hooks: list[tuple[Any, str, Any]] = []
    if engine is not None:
        hooks = [(engine, "begin", begin), *(sent_statements(engine, lambda first: statement(None, None, first))
                                             if engine.dialect.name == "postgresql" else
                                             [(engine, "before_cursor_execute", statement)])]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        time.sleep(0.2)  # a refusal's reply thread, if any, reaches the stand-in
        run.slack.update(c.method for c in slack.calls[before:])


def drive(app: WsgiApp, items: list[Prepared], *, engine: Any, slack: SlackApiStandIn, top: int,
          profile: bool) -> Pass:
    run = Pass(requests=len(items))
    profiler = cProfile.Profile(time.thread_time) if profile else None  # CPU, not waits
    with counted(run, engine, slack):
        wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        for item in items:
            run.statuses[call(app, item)] += 1
        if profiler is not None:
            profiler.disable()
        run.thread_cpu = time.thread_time() - thread
        run.process_cpu = time.process_time() - process
        run.wall = time.perf_counter() - wall
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
        run.calls = int(stats.total_calls)  # type: ignore[attr-defined]  # pstats has it, typeshed does not
        stats.strip_dirs().sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        run.profile = out.getvalue()
    return run


def pending_cards(slack: SlackApiStandIn) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if "pam_approve" in str(m.get("blocks"))]


def cards_for(container: Container, slack: SlackApiStandIn, wanted: int) -> list[dict[str, Any]]:
    """Run the worker until `wanted` approval cards are up (the asks recorded so far), then stop it."""
    container.worker.start()
    try:
        wait_until(lambda: len(pending_cards(slack)) >= wanted, 600, "approval cards")
        wait_until(lambda: container.inbox.depth()[0] == 0, 600, "the worker to drain")
    finally:
        container.worker.stop()
    return pending_cards(slack)


def per(run: Pass, value: float) -> str:
    return f"{value / run.requests:.2f}" if run.requests else "-"


def counts(values: Counter[str], run: Pass) -> str:
    return ", ".join(f"{name} {n / run.requests:g}" for name, n in sorted(values.items())) or "0"


def main() -> None:
    args = arguments(__doc__ or "", lambda parser: (
        parser.add_argument("--requests", type=int, default=300, help="requests of each kind per pass"),
        parser.add_argument("--top", type=int, default=30, help="rows of each profile table")))
    n = 30 if args.quick else args.requests
    results: dict[tuple[str, str, str], Pass] = {}
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        os.environ.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                           "SLACK_API_URL": box.slack.base_url})
        from bare_app import create_wsgi_app as bare_factory

        configure_logging(env)  # as gunicorn's factory does (the bench's PAM_LOG_LEVEL)
        bare = bare_factory()
        container = build(Settings.from_env(env), aws_env=env, migrate=False)  # no worker, no scheduler
        try:
            bot: WsgiApp = container.web
            asks = {phase: commands(box.slack, [(u, f"access {account} 30m profile")
                                                for u in add_requesters(box.slack, size)])
                    for phase, size in (("warm", WARM_UP), ("plain", n), ("profiled", n))}

            def measure(request: str, items: dict[str, list[Any]]) -> None:
                """Warm both apps up, then time (and profile) each on the same requests."""
                for item in items["warm"]:
                    call(bot, item)
                    call(bare, item)
                for phase in ("plain", "profiled"):
                    for name, app, engine in (("pam-bot", bot, container.engine), ("bare Bolt", bare, None)):
                        results[(name, request, phase)] = drive(app, items[phase], engine=engine, slack=box.slack,
                                                                top=args.top, profile=phase == "profiled")

            measure("/pam access", asks)
            cards = cards_for(container, box.slack, 2 * n + WARM_UP)
            clicks = approvals(box.slack, APPROVERS[0], cards)
            split = {"warm": clicks[:WARM_UP], "plain": clicks[WARM_UP:WARM_UP + n],
                     "profiled": clicks[WARM_UP + n:WARM_UP + 2 * n]}
            measure("Approve", split)
        finally:
            container.close()
    report(args.db, n, results)


def report(db: str, n: int, results: dict[tuple[str, str, str], Pass]) -> None:
    load = os.getloadavg()
    print(f"\nCPU per ack, in-process, {db}, {n} requests of each kind per pass; {machine()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("CPU and wall in ms per request (pass without the profiler); calls = Python function calls per request "
          "(cProfile pass); SQL and Slack per request; the profiles below time CPU of the serving thread "
          "(time.thread_time), not wall time\n")
    rows = []
    for kind in ("/pam access", "Approve"):
        for name in ("pam-bot", "bare Bolt"):
            plain, profiled = results[(name, kind, "plain")], results[(name, kind, "profiled")]
            rows.append([kind, name, per(plain, plain.thread_cpu * 1000), per(plain, plain.process_cpu * 1000),
                         per(plain, plain.wall * 1000), f"{profiled.calls / profiled.requests:.0f}",
                         counts(plain.statements, plain) if name == "pam-bot" else "-",
                         counts(plain.slack, plain), dict(plain.statuses).__repr__()])
    print(table(["request", "app", "serving thread CPU", "process CPU", "wall", "calls", "SQL", "Slack calls",
                 "statuses"], rows))
    for kind in ("/pam access", "Approve"):
        print(f"\n## pam-bot, {kind}: cProfile over {n} requests\n")
        print(results[("pam-bot", kind, "profiled")].profile)


if __name__ == "__main__":
    main()
