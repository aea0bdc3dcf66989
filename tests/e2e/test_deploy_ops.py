"""Deployment rough edges: one log format, quiet migrations run once, HEAD probes, Socket Mode health, packaging."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from datetime import timedelta
from importlib.metadata import version

from alembic.script import ScriptDirectory

from bot.clock import ManualClock, utcnow
from bot.runtime.edge import SignatureCheck
from sandbox.slack_api import SlackApiStandIn
from bot.services.installation import InstallationService
from storage.db import alembic_config, make_sessionmaker
from tests.e2e.test_deploy import BIN, ROOT, dockerfile_instruction, free_port, output, procfile, stop_cleanly, \
    wait_healthy
from tests.fixtures_bot import Bot

HEAD = ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]


def pam_bot(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pam-bot"), *args], env=environment, capture_output=True, text=True, timeout=90)


def head(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=2) as answer:
        return answer.status, answer.read()


def test_web_logs_only_json_migrates_once_answers_head_and_never_warns(deploy_env: dict[str, str],
                                                                        launch) -> None:
    port = int(deploy_env["PORT"])
    web = launch(procfile()["web"], {**deploy_env, "PAM_LOG_FORMAT": "json", "PAM_LOG_LEVEL": "DEBUG",
                                     "WEB_CONCURRENCY": "2",  # keyed, as production should be: no warning about it
                                     "PAM_AUDIT_KEY": "deploy-test-audit-key-0123456789abcdef"})
    wait_healthy(web, port)
    assert head(f"http://127.0.0.1:{port}/healthz") == (200, b"")
    assert head(f"http://127.0.0.1:{port}/") == (200, b"")
    logs = stop_cleanly(web)
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]  # every line is one JSON object
    messages = [entry["message"] for entry in entries]
    assert any(e["logger"] == "gunicorn.error" and e["message"].startswith("Starting gunicorn") for e in entries)
    assert messages.count("checking the database schema (alembic upgrade head)") == 1  # the master only
    assert messages.count(f"database schema upgraded from an empty database to {HEAD}") == 1
    assert sum("Booting worker" in m for m in messages) == 2
    assert [e for e in entries if e["level"] in ("WARNING", "ERROR")] == [], logs
    assert "will be unused" not in logs


def test_cli_calls_print_no_alembic_lines(deploy_env: dict[str, str]) -> None:
    created = pam_bot(deploy_env, "db", "upgrade")
    assert created.returncode == 0 and "alembic" not in created.stderr
    assert f"database schema upgraded from an empty database to {HEAD}" in created.stderr
    again = pam_bot(deploy_env, "db", "upgrade")
    assert again.returncode == 0 and again.stderr == ""
    listed = pam_bot(deploy_env, "resource", "list")
    assert listed.returncode == 0 and "alembic" not in listed.stderr and "migration" not in listed.stderr


def test_the_scheduler_writes_the_heartbeat_pam_bot_health_reads_in_socket_mode(
        bot: Bot, database_url: str, deploy_env: dict[str, str]) -> None:
    env = {**deploy_env, "DATABASE_URL": database_url, "SLACK_APP_TOKEN": "xapp-1-A"}
    probe = json.loads(re.search(r"CMD (\[.*\])$", dockerfile_instruction("HEALTHCHECK")).group(1))  # type: ignore
    assert probe == ["pam-bot", "health"]
    never = pam_bot(env, "health")
    assert never.returncode == 1 and "no scheduler heartbeat" in never.stderr
    bot.container.scheduler.tick()
    assert pam_bot(env, "health").returncode == 0
    stale = ManualClock(utcnow() - timedelta(minutes=10))
    InstallationService(db=make_sessionmaker(bot.engine), clock=stale).beat(socket.gethostname())
    old = pam_bot(env, "health")
    assert old.returncode == 1 and "last ticked" in old.stderr and "PAM_TICK_SECONDS" in old.stderr


def test_socket_mode_needs_no_signing_secret(deploy_env: dict[str, str], slack_api: SlackApiStandIn) -> None:
    env = {k: v for k, v in deploy_env.items() if k != "SLACK_SIGNING_SECRET"}
    result = pam_bot({**env, "SLACK_APP_TOKEN": "xapp-1-A"}, "serve", "--socket-mode")
    assert [c.method for c in slack_api.calls if c.method == "apps.connections.open"] == ["apps.connections.open"]
    assert "SLACK_SIGNING_SECRET" not in result.stderr
    # Without a secret, nothing over HTTP passes as Slack's (not even a body "signed" with the empty key).
    stamp = str(int(time.time()))
    body = b"command=%2Fpam&text=help"
    signature = "v0=" + hmac.new(b"", f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    refusal = SignatureCheck("").refusal(body, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
                                                "HTTP_X_SLACK_SIGNATURE": signature})
    assert refusal is not None and refusal.status == 401


def test_version_license_constraints_and_pinned_image() -> None:
    shown = subprocess.run([str(BIN / "pam-bot"), "--version"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0 and shown.stdout.strip() == f"pam-bot {version('pam-bot')}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    license_text = (ROOT / "LICENSE").read_text()
    assert project["license"] == "MIT" and license_text.startswith("MIT License")
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    wanted = [re.split(r"[\[<>=~!; ]", spec)[0] for spec in project["dependencies"]]
    assert not [name for name in wanted if _normal(name) not in {_normal(p) for p in pins}]
    assert {name: version(name) for name in pins} == pins  # generated from the environment the tests run in
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in dockerfile_instruction("RUN pip install")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", dockerfile_instruction("FROM"))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_head_on_an_unknown_path_is_still_404(deploy_env: dict[str, str], launch) -> None:
    port = free_port()
    web = launch(f"pam-bot serve --port {port}", deploy_env)
    wait_healthy(web, port)
    try:
        head(f"http://127.0.0.1:{port}/nothing")
        raise AssertionError("HEAD /nothing answered 2xx")
    except urllib.error.HTTPError as error:
        assert error.code == 404
    assert "Traceback" not in output(web)
    stop_cleanly(web)

