"""Ack latency of `/pam access` and Approve clicks, pam-bot against a bare Bolt app, at 1, 10 and 50 clients.

    .venv/bin/python bench/ack_latency.py [--db sqlite|postgresql] [--quick] [--samples N] [--repeat R]
                                          [--web-workers N] [--work-processes W] [--pause-work]
                                          [--baseline poll|sync] [--handler-times] [--split-cores]

On PostgreSQL pam-bot runs as the Procfile deploys it: a gunicorn web (production settings,
`create_wsgi_app(worker=False)`: it verifies, records and acks) and a separate `pam-bot work` process that does
the work; on SQLite, which serves one process, as `pam-bot serve` runs it (the worker in the web process). The bare app
(bench/bare_app.py) runs on the same gunicorn settings in the same run and gets the same signed requests.
Each level sends `--samples` requests of each kind (300 by default, enough for a p99 of a few samples);
`--repeat` runs every level again and prints the spread of p99 over the runs. Target: pam-bot's p99 at most
1.25 × the bare app's. `--pause-work` stops the work processes while pam-bot's requests are timed (they catch up
after), which splits the web path's own cost from the worker's competition for the same cores.
`--baseline sync` times the bare app acking in the request's thread (`process_before_response=True`, as pam-bot's
own Bolt apps run) instead of Bolt's default, whose 10 ms ack poll the issue's targets were set against
(bench/bare_app.py): Bolt's fastest ack, which records nothing. `--baseline insert` (PostgreSQL) times the bare app
acking in the request's thread after one INSERT of the body, committed, on a connection of the thread's own: what
any app that loses nothing it acknowledged does at least, without pam-bot's code; its ratio splits pam-bot's own cost
from that of writing the request down before the ack. `--handler-times` adds how long each request spent
in gunicorn's handler (the app's call and the answer written, bench/gunicorn_conf.py), to split a client's latency
into that and the wait before it (to be accepted and read, behind the requests in hand). `--split-cores` (PostgreSQL,
two cores or more) runs both web servers, and the load generator, on half of the cores and pam-bot's work, PostgreSQL
and the stand-ins on the other half, as a deployment whose web runs on hosts of its own does; both servers get the
same core(s) and the same load generator there, and the affinities are put back after.
Every run also prints the CPU each part of the machine used per request while a level was sent (from /proc): the
server's gunicorn processes, `pam-bot work`, PostgreSQL, the load generator and the whole machine, so that a ratio
can be read against what each server costs and what else shared the cores.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from harness import APPROVERS, CHANNEL, add_requesters, arguments, bot_env, database, machine, sandbox, seed
from load import Prepared, Result, Sender, approvals, commands, ms, table, wait_until
from server import (BARE_DURABLE_FACTORY, BARE_FACTORY, BARE_SYNC_FACTORY, HandlerTimes, Split, cores_split,
                    cpu_seconds, cpu_used, deployment, gunicorn, machine_busy_seconds, postgres_pids)

from sandbox.slack_api import SlackApiStandIn

LEVELS = (1, 10, 50)  # concurrent clients
SAMPLES = 300  # requests of each kind per level and run
TARGET = 1.25  # pam-bot's p99 / the bare app's p99
BASELINES = {  # --baseline: the bare app's factory and how it acks
    "poll": (BARE_FACTORY, "acking through its 10 ms ack poll"),
    "sync": (BARE_SYNC_FACTORY, "acking in the request's thread"),
    "insert": (BARE_DURABLE_FACTORY, "acking in the request's thread after one committed INSERT of the body"),
}


def pending_cards(slack: SlackApiStandIn) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in slack.messages(CHANNEL) if "pam_approve" in str(m.get("blocks"))]


def links_sent(slack: SlackApiStandIn) -> int:
    return sum(1 for c in slack.calls_to("chat.postMessage")
               if c.ok and str(c.response.get("channel", "")).startswith("D") and "is ready" in str(c.args.get("text")))


@dataclass(frozen=True)
class Spent:
    """CPU seconds used while one level's requests were sent, by each part of the machine."""

    web: float  # the server's gunicorn processes (master and workers)
    work: float  # pam-bot's `pam-bot work` processes (none for the bare app)
    postgres: float  # every PostgreSQL server process
    clients: float  # the load generator's process
    machine: float  # the whole machine, all of the above and the rest (the stand-ins, the bench itself)

    def per_request(self, requests: int) -> str:
        each = [1000 * value / requests for value in (self.web, self.work, self.postgres, self.clients, self.machine)]
        return " / ".join(f"{value:.2f}" for value in each)


def send(url: str, items: list[Prepared], clients: int, web: list[int], work: list[int],
         split: Split | None) -> tuple[Result, Spent]:
    """Send `items` from a fresh client process (started before the clock; on the web's cores with a `split`) and the
    CPU each part used meanwhile."""
    with Sender(split.web if split else None) as sender:
        sender.ready()
        before, busy = [cpu_seconds(web), cpu_seconds(work), cpu_seconds(postgres_pids())], machine_busy_seconds()
        result = sender.send(url, items, clients)
        after = [cpu_seconds(web), cpu_seconds(work), cpu_seconds(postgres_pids())]  # with backends started meanwhile
        busy = machine_busy_seconds() - busy
    web_cpu, work_cpu, postgres_cpu = (cpu_used(was, now) for was, now in zip(before, after, strict=True))
    return result, Spent(web_cpu, work_cpu, postgres_cpu, result.cpu, busy)


def row(clients: int, kind: str, bot: Result, bare: Result) -> list[str]:
    ratio = bot.percentile(99) / bare.percentile(99)
    return [str(clients), kind, str(len(bot.latencies)),
            f"{ms(bot.percentile(50))} / {ms(bot.percentile(95))} / {ms(bot.percentile(99))}",
            f"{ms(bare.percentile(50))} / {ms(bare.percentile(95))} / {ms(bare.percentile(99))}",
            f"{bot.percentile(50) / bare.percentile(50):.2f} / {ratio:.2f}", "yes" if ratio <= TARGET else "no",
            f"{bot.rate:.0f} / {bare.rate:.0f}", f"{bot.errors} / {bare.errors}"]


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", type=int, default=SAMPLES, help="requests of each kind per level (≥ 300 "
                                                                     "for a stable p99)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every level; the p99 spread is printed")
    parser.add_argument("--work-processes", type=int, default=None,
                        help="`pam-bot work` processes (default: 1 on PostgreSQL, the Procfile's shape; 0 on SQLite, "
                             "whose one process runs its worker in-process)")
    parser.add_argument("--web-workers", type=int, default=1,
                        help="gunicorn processes of pam-bot's web and of the bare app alike (production's default is "
                             "one per CPU on PostgreSQL)")
    parser.add_argument("--pause-work", action="store_true",
                        help="stop the `pam-bot work` processes (SIGSTOP) while pam-bot's requests are timed and "
                             "continue them after: the web path's own cost, without the worker competing for the CPU")
    parser.add_argument("--baseline", choices=tuple(BASELINES), default="poll",
                        help="the bare app's ack: Bolt's default (listeners on an executor, a 10 ms ack poll; the "
                             "targets' baseline), in the request's thread (process_before_response=True), or in the "
                             "request's thread after one committed INSERT of the body (PostgreSQL)")
    parser.add_argument("--handler-times", action="store_true",
                        help="also print the time each request spent in gunicorn's handler, for both servers")
    parser.add_argument("--split-cores", action="store_true",
                        help="both web servers and the load generator on half of the cores; the work processes, "
                             "PostgreSQL and the stand-ins on the other half (the web on hosts of its own)")


def main() -> None:
    args = arguments(__doc__ or "", options)
    if args.work_processes is None:
        args.work_processes = 1 if args.db == "postgresql" else 0
    if args.baseline == "insert" and args.db != "postgresql":
        raise SystemExit("--baseline insert records into PostgreSQL: add --db postgresql")
    if args.pause_work and args.work_processes == 0:
        raise SystemExit("--pause-work needs `pam-bot work` processes (--work-processes 1 or more): an in-process "
                         "worker cannot be stopped apart from the web path")
    samples = 30 if args.quick else args.samples
    rows: list[list[str]] = []
    shape = ""
    p99s: dict[tuple[int, str], list[tuple[float, float]]] = {}
    handled: list[list[str]] = []  # rows of the handler-time table
    spent: list[list[str]] = []  # rows of the CPU table
    split: Split | None = None
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url, \
            ExitStack() as later:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        spans = {name: HandlerTimes(Path(tmp) / f"handler-{name}") for name in ("bot", "bare")}
        timed = (lambda name: spans[name].env(env)) if args.handler_times else (lambda name: env)
        with deployment(timed("bot"), Path(tmp), web_workers=args.web_workers,
                        work_processes=args.work_processes) as bot, \
                gunicorn(BASELINES[args.baseline][0], timed("bare"), Path(tmp) / "bare.log",
                         workers=args.web_workers) as bare:
            shape = bot.describe()
            bot_web, bot_work = [bot.web.process.pid, *bot.web.worker_pids()], [p.pid for p in bot.workers]
            bare_web = [bare.process.pid, *bare.worker_pids()]
            split = later.enter_context(cores_split([*bot_web, *bare_web], bot_work)) if args.split_cores else None
            for run in range(args.repeat):
                for clients in LEVELS:
                    users = add_requesters(box.slack, samples)
                    asks = [(user, f"access {account} 30m bench run") for user in users]
                    prepared = commands(box.slack, asks)
                    for each in spans.values():
                        each.take()  # health checks, the previous level's stragglers
                    with bot.work_paused(args.pause_work):
                        bot_cmd, bot_cmd_cpu = send(bot.events_url, prepared, clients, bot_web, bot_work, split)
                    bot_spans = {"/pam access": spans["bot"].take()}
                    wait_until(lambda: len(pending_cards(box.slack)) >= samples, 600, "approval cards")
                    time.sleep(1)  # the cards' outbox rows settle: the worker is idle before it may be paused
                    clicks = approvals(box.slack, APPROVERS[0], pending_cards(box.slack))
                    granted = links_sent(box.slack)
                    with bot.work_paused(args.pause_work):
                        bot_click, bot_click_cpu = send(bot.events_url, clicks, clients, bot_web, bot_work, split)
                    bot_spans["Approve"] = spans["bot"].take()
                    drain = wait_until(lambda granted=granted: links_sent(box.slack) >= granted + samples, 900,
                                       "console-link DMs")
                    time.sleep(1)  # let the last card updates finish before the baseline runs
                    bare_cmd, bare_cmd_cpu = send(bare.events_url, commands(box.slack, asks), clients, bare_web, [],
                                                  split)
                    bare_spans = {"/pam access": spans["bare"].take()}
                    bare_click, bare_click_cpu = send(bare.events_url, clicks, clients, bare_web, [], split)
                    bare_spans["Approve"] = spans["bare"].take()
                    if args.handler_times:
                        handled += [[str(clients), kind, in_handler(bot_spans[kind]), in_handler(bare_spans[kind])]
                                    for kind in ("/pam access", "Approve")]
                    rows += [row(clients, "/pam access", bot_cmd, bare_cmd), row(clients, "Approve", bot_click, bare_click)]
                    spent += [[str(clients), kind, mine.per_request(samples), theirs.per_request(samples)]
                              for kind, mine, theirs in (("/pam access", bot_cmd_cpu, bare_cmd_cpu),
                                                         ("Approve", bot_click_cpu, bare_click_cpu))]
                    for kind, mine, theirs in (("/pam access", bot_cmd, bare_cmd), ("Approve", bot_click, bare_click)):
                        p99s.setdefault((clients, kind), []).append((mine.percentile(99), theirs.percentile(99)))
                    print(f"  run {run + 1}, {clients} clients done; grants drained {drain:.1f} s after the last "
                          f"click", flush=True)
    placed = f"; {split.describe()}" if split else ""
    paused = "; the work processes stopped while pam-bot's requests are timed" if args.pause_work else ""
    baseline = BASELINES[args.baseline][1]
    print(f"\nAck latency over HTTP, {args.db}: pam-bot = {shape}{paused}; bare Bolt {baseline}, on the same gunicorn "
          f"settings{placed}; {machine()}")
    print("p50 / p95 / p99 in ms, measured by the clients; ratio = pam-bot / bare Bolt; rate in requests/s; "
          f"target: p99 ratio ≤ {TARGET}\n")
    print(table(["clients", "request", "n", "pam-bot p50/p95/p99", "bare Bolt p50/p95/p99", "ratio p50/p99",
                 "p99 ≤ target", "rate bot/bare", "non-200 bot/bare"], rows))
    cores = os.cpu_count() or 1
    print("\nCPU per request while each level was sent, ms: the web's processes / `pam-bot work` / PostgreSQL / the "
          f"load generator / the whole machine ({cores} cores give {cores} ms of CPU a millisecond)\n")
    print(table(["clients", "request", "pam-bot", "bare Bolt"], spent))
    if handled:
        print("\nTime in gunicorn's handler (the app's call and the answer written), p50 / p99 in ms; the rest of a "
              "client's latency is the wait to be accepted and read\n")
        print(table(["clients", "request", "pam-bot", "bare Bolt"], handled))
    if args.repeat > 1:
        print(f"\np99 over {args.repeat} runs (min / median / max, ms) and the ratio's spread\n")
        print(table(["clients", "request", "pam-bot p99", "bare p99", "ratio p99"], [
            [str(clients), kind, spread([m for m, _ in pairs]), spread([t for _, t in pairs]),
             ratios([m / t for m, t in pairs])] for (clients, kind), pairs in p99s.items()]))


def in_handler(spans: list[float]) -> str:
    if not spans:
        return "-"
    timed = Result(spans, [200] * len(spans), 0.0)
    return f"{ms(timed.percentile(50))} / {ms(timed.percentile(99))}"


def ratios(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def spread(values: list[float]) -> str:
    return f"{ms(min(values))} / {ms(statistics.median(values))} / {ms(max(values))}"


if __name__ == "__main__":
    main()
