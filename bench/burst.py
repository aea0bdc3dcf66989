"""A burst: 5,000 `/pam access` and 5,000 Approve clicks from 50 clients; acks, memory, threads and the backlog.

    .venv/bin/python bench/burst.py [--db sqlite|postgresql] [--quick] [--asks N] [--clients C]
                                    [--web-workers W] [--work-processes P] [--every S]

On PostgreSQL pam-bot runs as the Procfile deploys it: a gunicorn web that records and acks (`worker=False`) and
separate `pam-bot work` processes; on SQLite, which serves one process, as `pam-bot serve` runs it. Every `/pam access` is sent first, then an Approve for each card as it appears, like
tests/e2e/test_load.py. While the burst runs and drains, a sampler reads every `--every` seconds: the backlog
(rows in the `interactions` table) and its oldest job's age, the jobs done (cards posted + links sent) and so
the drain rate, and each process's resident memory and thread count. Printed: the slowest ack and how many
took over Slack's 3 s, the time series, and per process the peak RSS (target ≤ 120 MB) and the most threads
(bounded however deep the backlog). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ack_latency import links_sent, pending_cards
from harness import APPROVERS, CHANNEL, add_requesters, arguments, bot_env, database, machine, sandbox, seed
from load import Result, Sender, approvals, commands, ms, table, wait_until
from server import Deployment, deployment, hwm_kib, rss_kib, threads_of

from bot.clock import utcnow
from bot.services.inbox import Inbox
from sandbox.slack_api import SlackApiStandIn
from storage.db import create_db_engine, make_sessionmaker

SLACK_LIMIT = 3.0  # seconds Slack waits for an ack
RSS_TARGET_MB = 120


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asks", type=int, default=5_000, help="`/pam access` requests; as many Approve clicks")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--web-workers", type=int, default=1, help="gunicorn web processes")
    parser.add_argument("--work-processes", type=int, default=None,
                        help="`pam-bot work` processes (default: 1 on PostgreSQL, the Procfile's shape; 0 on SQLite, "
                             "whose one process runs its worker in-process)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between samples")


@dataclass
class Sample:
    at: float  # seconds since the burst began
    backlog: int
    oldest: float  # seconds
    done: int  # jobs done: cards posted and links sent
    rss: dict[str, float]  # MiB per process
    threads: dict[str, int]


@dataclass
class Sampler:
    """Samples in a thread until stopped."""

    deployment: Deployment
    inbox: Inbox
    slack: SlackApiStandIn
    every: float
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while True:
            self.take()
            if self._stop.wait(self.every):
                self.take()
                return

    def take(self) -> Sample:
        backlog, oldest = self.inbox.depth()
        rss, threads = {}, {}
        for name, pid in self.deployment.processes().items():
            try:
                rss[name], threads[name] = rss_kib(pid) / 1024, threads_of(pid)
            except (OSError, RuntimeError):  # a gunicorn worker being replaced
                continue
        sample = Sample(time.monotonic() - self.started, backlog, oldest, jobs_done(self.slack), rss, threads)
        self.samples.append(sample)
        return sample

    def stop(self) -> None:
        self._stop.set()


def jobs_done(slack: SlackApiStandIn) -> int:
    cards = sum(1 for c in slack.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == CHANNEL
                and "pam_approve" in str(c.args.get("blocks")))
    return cards + links_sent(slack)


def click_as_cards_appear(sender: Sender, slack: SlackApiStandIn, url: str, count: int, clients: int,
                          results: list[Result]) -> None:
    """Approve every card once, in batches of what has appeared since the last batch."""
    clicked: set[str] = set()
    while len(clicked) < count:
        fresh = [card for card in pending_cards(slack) if card["ts"] not in clicked][: count - len(clicked)]
        if not fresh:
            time.sleep(0.2)
            continue
        clicked.update(card["ts"] for card in fresh)
        results.append(sender.send(url, approvals(slack, APPROVERS[0], fresh), clients))


def main() -> None:
    args = arguments(__doc__ or "", options)
    if args.work_processes is None:
        args.work_processes = 1 if args.db == "postgresql" else 0
    asks = min(args.asks, 250) if args.quick else args.asks
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        engine = create_db_engine(url)
        try:
            with deployment(env, Path(tmp), web_workers=args.web_workers,
                            work_processes=args.work_processes) as bot, Sender() as sender:
                sender.send(bot.events_url, [], 1)  # the client process is up before the clock starts
                sampler = Sampler(bot, Inbox(db=make_sessionmaker(engine), clock=utcnow), box.slack, args.every)
                watcher = threading.Thread(target=sampler.run, name="sampler", daemon=True)
                prepared = commands(box.slack, [(u, f"access {account} 30m burst")
                                                for u in add_requesters(box.slack, asks)])
                watcher.start()
                began = time.monotonic()
                results = [sender.send(bot.events_url, prepared, args.clients)]
                print(f"  {asks:,} asks answered in {time.monotonic() - began:.1f} s", flush=True)
                click_as_cards_appear(sender, box.slack, bot.events_url, asks, args.clients, results)
                print(f"  {asks:,} Approve clicks answered {time.monotonic() - began:.1f} s after the first ask",
                      flush=True)
                wait_until(lambda: links_sent(box.slack) >= asks, 4 * 3600, "every console-link DM")
                drained = time.monotonic() - began
                print(f"  drained {drained:.1f} s after the first ask", flush=True)
                peaks = {name: hwm_kib(pid) / 1024 for name, pid in bot.processes().items()}
                shape = bot.describe()
                sampler.stop()
                watcher.join()
        finally:
            engine.dispose()
    report(args, asks, results, sampler.samples, peaks, drained, shape)


def report(args: argparse.Namespace, asks: int, results: list[Result], samples: list[Sample],
           peaks: dict[str, float], drained: float, shape: str) -> None:
    latencies = sorted(x for r in results for x in r.latencies)
    errors = sum(r.errors for r in results)
    late = sum(1 for x in latencies if x > SLACK_LIMIT)
    print(f"\nBurst, {args.db}: {asks:,} `/pam access` then {asks:,} Approve as the cards appear, {args.clients} "
          f"clients; {shape}; {machine()}\n")
    print(table(["requests", "ack p50 ms", "ack p99 ms", "slowest ack ms", f"over {SLACK_LIMIT:g} s", "non-200",
                 "drained after s", "grants/s overall"],
                [[f"{len(latencies):,}", ms(pct(latencies, 50)), ms(pct(latencies, 99)), ms(latencies[-1]),
                  str(late), str(errors), f"{drained:.0f}", f"{asks / drained:.1f}"]]))
    names = sorted({name for s in samples for name in s.rss})
    print(f"\nPer process (target ≤ {RSS_TARGET_MB} MB RSS each; threads bounded however deep the backlog)\n")
    print(table(["process", "RSS at start MiB", "peak RSS MiB", "RSS at end MiB", "most threads"], [
        [name, f"{first(samples, name):.1f}", f"{peaks.get(name, 0):.1f}", f"{last(samples, name):.1f}",
         str(max(s.threads.get(name, 0) for s in samples))] for name in names]))
    print("\nBacklog over time (interactions rows; drain rate = jobs done per second since the previous row)\n")
    step = max(1, len(samples) // 40)
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    rows, previous = [], None
    for s in shown:
        rate = (s.done - previous.done) / (s.at - previous.at) if previous and s.at > previous.at else 0.0
        rows.append([f"{s.at:.0f}", f"{s.backlog:,}", f"{s.oldest:.1f}", f"{s.done:,}", f"{rate:.1f}",
                     " ".join(f"{s.threads.get(n, 0)}" for n in names)])
        previous = s
    print(table(["t s", "backlog", "oldest job s", "jobs done", "drain /s", f"threads ({' '.join(names)})"], rows))


def pct(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def first(samples: list[Sample], name: str) -> float:
    return next((s.rss[name] for s in samples if name in s.rss), 0.0)


def last(samples: list[Sample], name: str) -> float:
    return next((s.rss[name] for s in reversed(samples) if name in s.rss), 0.0)


if __name__ == "__main__":
    main()
