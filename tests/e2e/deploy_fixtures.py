"""Fixtures for tests that run pam-bot as a deployment would: its environment and processes it starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.slack_api import SlackApiStandIn
from tests.fixtures_slack import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def deploy_env(tmp_path: Path, slack_api: SlackApiStandIn) -> dict[str, str]:
    """A fresh SQLite file, the Slack stand-in for auth.test, AWS never reached."""
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/pam.db",
            "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "SLACK_API_URL": slack_api.base_url, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIAPAMDEPLOYTEST000", "AWS_SECRET_ACCESS_KEY": "unused",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PORT": str(free_port())}


@pytest.fixture
def launch(tmp_path: Path) -> Iterator:
    """`launch(command, env)`: a shell command line run as a platform would; killed if a test leaves it running."""
    started: list[subprocess.Popen[bytes]] = []

    def run(command: str, environment: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"launched-{len(started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = log.name  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
