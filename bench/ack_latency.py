"""Ack latency of `/pam access` and Approve clicks on gunicorn, pam-bot against a bare Bolt app, at 1/10/50 clients.

    .venv/bin/python bench/ack_latency.py [--db sqlite|postgresql] [--quick]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from harness import APPROVERS, CHANNEL, add_requesters, arguments, bot_env, database, machine, sandbox, seed
from load import Result, approvals, commands, ms, send, table, wait_until
from server import BARE_FACTORY, BOT_FACTORY, gunicorn

from sandbox.slack_api import SlackApiStandIn

LEVELS = {1: 100, 10: 200, 50: 500}  # concurrent clients → requests of each kind


def pending_cards(slack: SlackApiStandIn) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in slack.messages(CHANNEL) if "pam_approve" in str(m.get("blocks"))]


def links_sent(slack: SlackApiStandIn) -> int:
    return sum(1 for c in slack.calls_to("chat.postMessage")
               if c.ok and str(c.response.get("channel", "")).startswith("D") and "is ready" in str(c.args.get("text")))


def row(clients: int, kind: str, bot: Result, bare: Result) -> list[str]:
    return [str(clients), kind, str(len(bot.latencies)),
            f"{ms(bot.percentile(50))} / {ms(bot.percentile(95))} / {ms(bot.percentile(99))}",
            f"{ms(bare.percentile(50))} / {ms(bare.percentile(95))} / {ms(bare.percentile(99))}",
            f"{bot.percentile(50) / bare.percentile(50):.2f} / {bot.percentile(99) / bare.percentile(99):.2f}",
            f"{bot.rate:.0f} / {bare.rate:.0f}", f"{bot.errors} / {bare.errors}"]


def main() -> None:
    args = arguments(__doc__ or "")
    levels = {c: max(10, n // 10) for c, n in LEVELS.items()} if args.quick else LEVELS
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        with gunicorn(BOT_FACTORY, env, Path(tmp) / "bot.log") as bot, \
                gunicorn(BARE_FACTORY, env, Path(tmp) / "bare.log") as bare:
            for clients, count in levels.items():
                users = add_requesters(box.slack, count)
                asks = [(user, f"access {account} 30m bench run") for user in users]
                bot_cmd = send(bot.events_url, commands(box.slack, asks), clients)
                wait_until(lambda count=count: len(pending_cards(box.slack)) >= count, 300, "approval cards")
                clicks = approvals(box.slack, APPROVERS[0], pending_cards(box.slack))
                granted = links_sent(box.slack)
                bot_click = send(bot.events_url, clicks, clients)
                drain = wait_until(lambda granted=granted, count=count: links_sent(box.slack) >= granted + count, 600, "console-link DMs")
                time.sleep(1)  # let the last card updates finish before the baseline runs
                bare_cmd = send(bare.events_url, commands(box.slack, asks), clients)
                bare_click = send(bare.events_url, clicks, clients)
                rows += [row(clients, "/pam access", bot_cmd, bare_cmd), row(clients, "Approve", bot_click, bare_click)]
                print(f"  {clients} clients done; grants drained {drain:.1f} s after the last click", flush=True)
    print(f"\nAck latency over HTTP, gunicorn gthread (1 worker × 16 threads), {args.db}; {machine()}")
    print("p50 / p95 / p99 in ms, measured by the clients; ratio = pam-bot / bare Bolt; rate in requests/s\n")
    print(table(["clients", "request", "n", "pam-bot p50/p95/p99", "bare Bolt p50/p95/p99", "ratio p50/p99",
                 "rate bot/bare", "non-200 bot/bare"], rows))


if __name__ == "__main__":
    main()
