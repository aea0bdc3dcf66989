"""Opening the request modal on the web path, pam-bot against a bare Bolt app, with 10, 100 and 1,000 accounts.

    .venv/bin/python bench/modal_open.py [--db sqlite|postgresql] [--quick] [--accounts 10,100,1000] [--samples N]

A modal must be opened while its click's `trigger_id` lives (3 s), so pam-bot opens it on the web path: the
Home tab's "Request access" click reads the accounts its clicker may ask for and calls `views.open` with up to 100
of them. Each level registers that many accounts (one real Target Role, the rest rows that name it: the modal
reads rows, never AWS), then one client clicks `--samples` times, one click at a time, each from one of 20
people (the member check's cache is warm, as for people who come back). Timed per click, from the client's send:
the HTTP answer (the ack), and the moment `views.open`'s answer left the Slack stand-in (the modal is open);
"web CPU" is the user and system time of the web process (`/proc`) per click. The bare app (bench/bare_app.py)
answers the same clicks on the same gunicorn settings by opening a modal of as many prebuilt options. Figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from harness import APPROVERS, CHANNEL, add_requesters, arguments, bot_env, database, machine, sandbox, seed
from load import PayloadBuilder, Prepared, Result, ms, table
from server import BARE_FACTORY, Server, cpu_seconds, cpu_used, deployment, gunicorn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sandbox.slack_api import SlackApiStandIn
from storage.db import create_db_engine
from storage.models import Account, Resource

LEVELS = "10,100,1000"  # accounts registered
SAMPLES = 300  # clicks per level and app
PEOPLE = 20


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", default=LEVELS, help="comma-separated account counts, one level each")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="clicks per level and app (≥ 300 for a p99)")


def top_up(database_url: str, accounts: int) -> None:
    """Rows of accounts up to `accounts` in all, each naming the first account's Target Role."""
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            have = session.scalar(select(func.count()).select_from(Account)) or 0
            first = session.scalars(select(Account).order_by(Account.id)).first()
            resource = session.scalars(select(Resource)).one()
            assert first is not None
            now = datetime.now(UTC)
            session.add_all(Account(
                resource_id=resource.id, name=f"team-{i:04d}", role_arn=first.role_arn, description="d" * 200,
                default_duration_seconds=3600, approver_ids=list(APPROVERS), approval_channel=CHANNEL,
                requesters_everyone=True, created_by="bench", created_at=now, updated_at=now)
                for i in range(have, accounts))
    finally:
        engine.dispose()


def click(builder: PayloadBuilder, person: str, value: str) -> tuple[Prepared, str]:
    """A "Request access" click on the Home tab, with its trigger id, built just before it is sent: the trigger
    lives 3 s from its issue, as Slack's does."""
    builder.click(person, "pam_open_request", value, view={"type": "home", "id": "VHOMEBENCH", "blocks": []})
    (item,) = builder.take()
    return item, trigger_of(item[0])


def trigger_of(body: bytes) -> str:
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    return str(payload["trigger_id"])


def run(server: Server, api: SlackApiStandIn, people: list[str], count: int, value: str) -> tuple[
        list[float], list[float], float, int]:
    """`count` clicks, one at a time: acks and opens (seconds from the send), web CPU per click, and the clicks
    whose modal did not open."""
    parts = urllib.parse.urlsplit(server.events_url)
    builder = PayloadBuilder(api)
    acks, opens, failed = [], [], 0
    pids = server.worker_pids()
    cpu = cpu_seconds(pids)
    for i in range(count):
        (body, headers), trigger = click(builder, people[i % len(people)], value)
        sent, started = time.time(), time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("POST", parts.path, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        acks.append(time.perf_counter() - started)
        opened = api.wait_for("views.open", lambda c, t=trigger: c.args.get("trigger_id") == t, timeout=30)
        if answer.status != 200 or not opened.ok:
            failed += 1
        opens.append(opened.at + opened.duration - sent)
    return acks, opens, cpu_used(cpu, cpu_seconds(pids)) / count, failed


def percentiles(values: list[float]) -> str:
    result = Result(values, [], 0.0)
    return f"{ms(result.percentile(50))} / {ms(result.percentile(95))} / {ms(result.percentile(99))}"


def ratio(mine: list[float], theirs: list[float]) -> str:
    """pam-bot's p99 over the bare app's."""
    return f"{Result(mine, [], 0.0).percentile(99) / Result(theirs, [], 0.0).percentile(99):.2f}"


def main() -> None:
    args = arguments(__doc__ or "", options)
    samples = 30 if args.quick else args.samples
    levels = [int(n) for n in args.accounts.split(",")]
    rows: list[list[str]] = []
    shape = ""
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        seed(box, env)
        people = add_requesters(box.slack, PEOPLE)
        with deployment(env, Path(tmp), work_processes=1 if args.db == "postgresql" else 0) as bot, \
                gunicorn(BARE_FACTORY, env, Path(tmp) / "bare.log") as bare:
            shape = bot.describe()
            for accounts in levels:
                top_up(url, accounts)
                shown = str(min(accounts, 100))
                run(bot.web, box.slack, people, PEOPLE, "")  # warm-up: each person's member check
                mine = run(bot.web, box.slack, people, samples, "")
                theirs = run(bare, box.slack, people, samples, shown)
                rows.append([str(accounts), str(samples), percentiles(mine[0]), percentiles(theirs[0]),
                             percentiles(mine[1]), percentiles(theirs[1]), ratio(mine[1], theirs[1]),
                             f"{mine[2] * 1000:.1f} / {theirs[2] * 1000:.1f}", f"{mine[3]} / {theirs[3]}"])
                print(f"  {accounts} accounts done", flush=True)
    print(f"\nRequest modal opened on the web path, {args.db}: pam-bot = {shape}; bare Bolt on the same gunicorn "
          f"settings, opening a modal of as many prebuilt options; {machine()}")
    print("p50 / p95 / p99 in ms from the click's send; \"open\": views.open answered; web CPU in ms per click; "
          "Slack allows 3,000 ms from the click to views.open\n")
    print(table(["accounts", "n", "ack pam-bot", "ack bare Bolt", "open pam-bot", "open bare Bolt",
                 "open p99 ratio", "web CPU bot / bare", "not opened bot / bare"], rows))


if __name__ == "__main__":
    main()
