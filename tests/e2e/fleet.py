"""A deployment in miniature for tests: web processes (`pam-bot serve --no-worker`) and workers (`pam-bot work`)
on one database, pointed at the test process's Slack and AWS stand-ins; workers can be killed and started again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from sandbox.slack_payloads import find_element
from tests.e2e.deploy_fixtures import BIN, ROOT, free_port
from tests.fixtures_bot import CHANNEL, Bot, bot_env
from tests.fixtures_slack import SLACK_SIGNING_SECRET

Launch = Callable[[str, dict[str, str]], subprocess.Popen[bytes]]
LINK_DM = re.compile(r"Your AWS console access to (\S+) is ready \(session (S-\w+)\)")
NEW_LINK_OFFER = re.compile(r"The sign-in link to (\S+) \(session (S-\w+)\) never reached you")


@dataclass
class Fleet:
    """Processes started through `launch` (deploy_fixtures), which kills whatever is left after the test."""

    bot: Bot
    launch: Launch
    webs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    drivers: list[SlackDriver] = field(default_factory=list)
    kills: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        settings = self.bot.container.settings
        return {**os.environ, "PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                **bot_env(database_url=settings.database_url, slack=self.bot.slack, aws=self.bot.aws),
                "PAM_AUTO_MIGRATE": "false", "PAM_LOG_LEVEL": "WARNING", **extra}

    def start_web(self) -> None:
        port = free_port()
        self.webs.append(self.launch(f"pam-bot serve --no-worker --workers 1 --port {port}", self.env()))
        wait_healthy(self.webs[-1], port)
        self.drivers.append(SlackDriver(f"http://127.0.0.1:{port}/slack/events", SLACK_SIGNING_SECRET,
                                        api=self.bot.slack, team_id=self.bot.slack.team_id))

    def start_worker(self, slot: int | None = None) -> None:
        process = self.launch("pam-bot work", self.env())
        if slot is None:
            self.workers.append(process)
        else:
            self.workers[slot] = process

    def kill_worker(self, slot: int) -> None:
        """SIGKILL: no clean-up at all, whatever the worker was doing; then a new worker in its place."""
        self.workers[slot].send_signal(signal.SIGKILL)
        self.workers[slot].wait()
        self.kills += 1
        self.start_worker(slot)

    def driver(self, index: int) -> SlackDriver:
        return self.drivers[index % len(self.drivers)]


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the web process exited: {process.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("/healthz never answered 200")


def approval_cards(slack: SlackApiStandIn) -> dict[str, dict[str, Any]]:
    """The approval cards in the channel with an Approve button, by request ref (what an approver can click)."""
    cards: dict[str, dict[str, Any]] = {}
    for message in slack.messages(CHANNEL):
        found = find_element(message.get("blocks") or [], "pam_approve")
        if found is not None:
            cards[str(found[1].get("value"))] = message
    return cards


def cards_posted(slack: SlackApiStandIn) -> Counter[str]:
    """How many accepted chat.postMessage calls carried an approval card for each request ref."""
    posted: Counter[str] = Counter()
    for call in slack.calls_to("chat.postMessage"):
        if call.ok and call.args.get("channel") == CHANNEL:
            blocks = call.args.get("blocks") or []
            found = find_element(json.loads(blocks) if isinstance(blocks, str) else blocks, "pam_approve")
            if found is not None:
                posted[str(found[1].get("value"))] += 1
    return posted


def link_dms(slack: SlackApiStandIn, kind: re.Pattern[str] = LINK_DM) -> Counter[tuple[str, str]]:
    """How many accepted console-link DMs (or, with NEW_LINK_OFFER, offers of a new link) each (user,
    resource/account) got."""
    sent: Counter[tuple[str, str]] = Counter()
    for call in slack.calls_to("chat.postMessage"):
        match = kind.search(str(call.args.get("text", "")))
        if call.ok and match:
            sent[(str(call.args.get("channel", "")).removeprefix("D"), match.group(1))] += 1
    return sent
