"""PostgreSQL restarting under a running bot, two ways: a TCP proxy in front of it is cut and restored (every
run), and the server itself is stopped and started with pg_ctlcluster (slow: CI, on a machine whose local
cluster the tests may restart).

/healthz goes 503 then 200, the process keeps serving, nothing acknowledged is lost and nothing happens twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.services.sweeps import STUCK_AFTER
from tests.e2e.helpers import wait_ephemeral, wait_for
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_access_flow import click, wait_status
from tests.fixtures_bot import APPROVER, CHANNEL, Bot

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
USERS = ("UPGUSER01", "UPGUSER02", "UPGUSER03")


def health(bot: Bot) -> int:
    try:
        with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def wait_health(bot: Bot, status: int, timeout: float = 15.0) -> None:
    seen: list[int] = []

    def answers() -> bool:
        seen.append(health(bot))
        return seen[-1] == status

    wait_for(answers, lambda: f"/healthz to answer {status}; it stayed {seen[-1]}", timeout, interval=0.1)


@dataclass
class Outage:
    """How the database goes away and comes back."""

    begin: Callable[[], None]
    end: Callable[[], None]


def cluster() -> tuple[str, str] | None:
    """(version, name) of the local Debian PostgreSQL cluster the tests may restart, or None."""
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0 or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if (p / "main").is_dir())
    return (versions[-1], "main") if versions else None


def pg_ctl(action: str, *, check: bool = True) -> int:
    version, name = cluster() or ("", "")
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *(
        ["-m", "fast"] if action == "stop" else [])], check=check, capture_output=True, timeout=60).returncode


@pytest.fixture(params=["proxy", pytest.param("server", marks=pytest.mark.slow)])
def outage(request: pytest.FixtureRequest, database_url: str,
           make_bot: Callable[..., Bot]) -> Iterator[tuple[Bot, Outage]]:
    """The bot, and an outage: its proxy to the real PostgreSQL cut, or the local server stopped."""
    url = make_url(database_url)
    if request.param == "server":
        if url.host not in ("127.0.0.1", "localhost") or cluster() is None:
            pytest.skip("needs the local PostgreSQL cluster and the right to restart it (pg_ctlcluster, root)")
        bot = add_users(make_bot())
        try:
            yield bot, Outage(begin=lambda: pg_ctl("stop"), end=lambda: pg_ctl("start"))
        finally:
            if pg_ctl("status", check=False) != 0:  # whatever happened, it runs again for the tests after this
                pg_ctl("start")
        return
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        bot = add_users(make_bot(DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)))
        yield bot, Outage(begin=proxy.cut, end=proxy.restore)
        proxy.restore()


def add_users(bot: Bot) -> Bot:
    for user_id in USERS:
        bot.slack.add_user(user_id, name=user_id.lower(), email=f"{user_id.lower()}@example.com")
    return bot


def ask(bot: Bot, user_id: str) -> tuple[str, str]:
    """/pam access from `user_id`: the new request's ref and its card's ts."""
    bot.driver.command(user_id, "access prod-aws readonly 30m restart drill")
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.ok and c.args.get("channel") == CHANNEL
                              and f"<@{user_id}>" in str(c.args.get("text")))
    return card.args["text"].split()[2].rstrip(":"), str(card.response["ts"])


def link_dms(bot: Bot, user_id: str) -> int:
    return len([c for c in bot.slack.dms_to(user_id) if "Open AWS Console" in json.dumps(c.args)])


def test_restart_mid_run_loses_nothing_and_duplicates_nothing(outage: tuple[Bot, Outage]) -> None:
    bot, database = outage
    bot.add_account()
    assert health(bot) == 200
    first, _ = ask(bot, USERS[0])
    click(bot, APPROVER, "pam_approve", first)
    wait_status(bot, first, "granted")

    # The second grant is in flight when the database goes: its claim is committed, the session is not yet.
    second, _ = ask(bot, USERS[1])
    # The approver was looked up minutes ago (remembered); the requester is checked again at the grant, for the
    # role session name: the cut lands here.
    bot.slack.delay_next("users.info", 2)
    click(bot, APPROVER, "pam_approve", second)
    wait_for(lambda: any(r.ref == second and r.grant_attempts == 1 for r in bot.requests()), "the grant's claim")
    database.begin()
    wait_health(bot, 503)

    during = bot.driver.command(USERS[2], "access prod-aws readonly 30m restart drill")
    assert during.status == 200
    told = wait_ephemeral(bot.slack, "database")
    assert "Try again in a minute" in told and "Traceback" not in told
    time.sleep(2.5)  # the in-flight grant reaches its session write and fails on the dead connection

    database.end()
    wait_health(bot, 200)
    third, _ = ask(bot, USERS[2])  # asking again works on the same process
    click(bot, APPROVER, "pam_approve", third)
    wait_status(bot, third, "granted")

    wait_status(bot, second, "approved")  # acknowledged, not lost: the recovery sweep finishes it
    bot.clock.advance(STUCK_AFTER + timedelta(seconds=1))
    assert bot.container.services.sweeps.recover_stuck() == 1
    wait_status(bot, second, "granted")

    requests = bot.requests()
    assert sorted(r.requester_id for r in requests) == sorted(USERS)  # one request each, none twice
    assert all(r.status == "granted" for r in requests)
    sessions = bot.sessions()
    assert sorted(s.request_id for s in sessions) == sorted(r.id for r in requests)
    assert [link_dms(bot, user_id) for user_id in USERS] == [1, 1, 1]
    assert health(bot) == 200
