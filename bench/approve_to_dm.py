"""From the Approve click to the DM with the console link: where the time goes (AWS, Slack, pam-bot itself).

    .venv/bin/python bench/approve_to_dm.py [--db sqlite|postgresql] [--quick]

The bot runs as `pam-bot serve` does (gunicorn, the worker in the web process), so the figure is the work of one
flow, without the wait of a separate `pam-bot work` process for its next poll of the database (up to 0.5 s).
bench/profile_grant.py counts what the worker's part costs (SQL statements, Slack and AWS calls, clients built).
Flows run one at a time, so every call the stand-ins record between a click and its DM belongs to that flow.
The stand-ins' servers time each answer whole, from its request line to its flushed answer (`served_seconds`,
sandbox.http.ServerTime), and that is taken out of pam-bot's time: the HTTP work of a stand-in's Python server is
not pam-bot's, and AWS and Slack do theirs on their own machines. The apps' own timings (RecordedCall.duration,
ApiCall.duration, FederationCall.duration) leave that work out; the last row shows pam-bot's time counted with them,
as this script counted it before (bench/RESULTS.md up to day four).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness import APPROVERS, CHANNEL, SIGNING_SECRET, add_requesters, arguments, bot_env, database, machine, \
    sandbox, seed
from load import card_ref, ms, table, wait_until
from server import BOT_FACTORY, gunicorn

from sandbox.slack_calls import RecordedCall
from sandbox.slack_driver import SlackDriver

FLOWS = 50


def is_link_dm(call: RecordedCall, user_id: str) -> bool:
    return call.method == "chat.postMessage" and call.ok and call.response.get("channel") == f"D{user_id}" \
        and "is ready" in str(call.args.get("text"))


def main() -> None:
    args = arguments(__doc__ or "")
    flows = 10 if args.quick else FLOWS
    samples: dict[str, list[float]] = {k: [] for k in ("ack", "total", "aws", "signin", "slack", "own", "calls",
                                                       "own_apps")}
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        (account,) = seed(box, env)
        with gunicorn(BOT_FACTORY, env, Path(tmp) / "bot.log") as bot:
            driver = SlackDriver(bot.events_url, SIGNING_SECRET, api=box.slack, team_id=box.slack.team_id)
            for user_id in add_requesters(box.slack, flows + 3):
                driver.command(user_id, f"access {account} 30m latency run")
                card = box.slack.wait_for("chat.postMessage", lambda c, u=user_id: c.args.get("channel") == CHANNEL
                                          and f"<@{u}>" in str(c.args.get("text")), timeout=30)
                slack_seen, aws_seen, signin_seen = len(box.slack.calls), len(box.aws.calls()), \
                    len(box.federation.calls())
                clicked = time.time()
                answer = driver.click(APPROVERS[0], "pam_approve", card_ref(card.args), channel_id=CHANNEL,
                                      message_ts=card.response["ts"])
                dm = box.slack.wait_for("chat.postMessage", lambda c, u=user_id: is_link_dm(c, u), timeout=30)
                wait_until(lambda ts=card.response["ts"]: "Granted" in str(box.slack.message(CHANNEL, ts)), 30,
                           "the card update")
                time.sleep(0.05)
                slack_calls = [c for c in box.slack.calls[slack_seen:] if c.at < dm.at]
                values = {"ack": answer.elapsed, "total": dm.at - clicked,
                          "aws": box.aws.served_seconds(clicked, dm.at),
                          "signin": box.federation.served_seconds(clicked, dm.at),
                          "slack": box.slack.served_seconds(clicked, dm.at), "calls": float(len(slack_calls))}
                values["own"] = values["total"] - values["aws"] - values["signin"] - values["slack"]
                values["own_apps"] = values["total"] - sum(c.duration for c in box.aws.calls()[aws_seen:]) \
                    - sum(c.duration for c in box.federation.calls()[signin_seen:]) \
                    - sum(c.duration for c in slack_calls)
                for key, value in values.items():
                    samples[key].append(value)
    for key in samples:
        del samples[key][:3]  # the first flows warm up connections and caches
    rows = [[label, ms(pct(samples[key], 50)), ms(pct(samples[key], 95)), ms(statistics.mean(samples[key]))]
            for key, label in (("ack", "click acknowledged (HTTP answer)"), ("total", "click → DM with the link"),
                               ("aws", "AWS sandbox's server (2 × AssumeRole)"),
                               ("signin", "federation stub's server (getSigninToken)"),
                               ("slack", f"Slack stand-in's server ({statistics.mean(samples['calls']):.0f} calls)"),
                               ("own", "pam-bot itself (the rest)"),
                               ("own_apps", "pam-bot, stand-ins' HTTP servers counted in (as up to day four)"))]
    print(f"\nApprove → DM, {flows} flows one at a time, gunicorn gthread, {args.db}; {machine()}\n")
    print(table(["stage", "p50 ms", "p95 ms", "mean ms"], rows))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
