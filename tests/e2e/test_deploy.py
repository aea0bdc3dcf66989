"""Deploy files for real: the Procfile's release and web commands, `pam-bot serve`, Socket Mode, the Dockerfile."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.slack_api import SlackApiStandIn
from sandbox.slack_driver import SlackDriver
from tests.e2e.helpers import wait_for
from tests.fixtures_slack import SLACK_SIGNING_SECRET

from tests.e2e.deploy_fixtures import BIN, ROOT, free_port


def procfile() -> dict[str, str]:
    entries = (re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line) for line in (ROOT / "Procfile").read_text().splitlines())
    return {m.group(1): m.group(2) for m in entries if m}


def dockerfile_instruction(name: str) -> str:
    """The first instruction called `name`, continuation lines joined."""
    logical = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found = re.search(rf"^{name} (.+)$", logical, re.M)
    return found.group(1).strip() if found else ""


@pytest.fixture
def env(deploy_env: dict[str, str]) -> dict[str, str]:
    """A deployment's environment (tests.e2e.deploy_fixtures): a fresh SQLite file, the Slack stand-in."""
    return deploy_env


@pytest.fixture
def start(launch: Callable[..., subprocess.Popen[bytes]]) -> Callable[..., subprocess.Popen[bytes]]:
    """`start(command, env)`: a shell command line run as a platform would (tests.e2e.deploy_fixtures)."""
    return launch


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 45.0) -> str:
    def healthy() -> str | None:
        assert process.poll() is None, output(process)
        try:
            status, body = get(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            return None
        return body if status == 200 else None

    return wait_for(healthy, lambda: f"/healthz to answer 200:\n{output(process)}", timeout, interval=0.2)


def stop_cleanly(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0, output(process)
    return output(process)


def output(process: subprocess.Popen[bytes]) -> str:
    return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def test_procfile_declares_release_web_and_a_socket_mode_alternative() -> None:
    entries = procfile()
    assert entries["release"] == "pam-bot db upgrade"
    assert "gunicorn" in entries["web"] and "'bot.runtime.wsgi:create_wsgi_app(worker=False)'" in entries["web"]
    assert "$PORT" in entries["web"] and "python:bot.runtime.gunicorn_conf" in entries["web"]
    assert entries["worker"] == "pam-bot work"  # the web processes only record and ack; workers do the work
    assert "socket" not in entries  # two bots would answer every event: Socket Mode stays a documented option
    assert "# socket: pam-bot serve --socket-mode" in (ROOT / "Procfile").read_text()


def test_release_then_web_serves_health_metrics_and_slack_then_stops_gracefully(
        env: dict[str, str], start, slack_api: SlackApiStandIn) -> None:
    release = subprocess.run(["bash", "-c", procfile()["release"]], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert release.returncode == 0 and "up to date" in release.stdout, release.stderr

    port = int(env["PORT"])
    web = start(procfile()["web"], {**env, "PAM_AUTO_MIGRATE": "false"})
    worker = start(procfile()["worker"], {**env, "PAM_AUTO_MIGRATE": "false"})
    assert json.loads(wait_healthy(web, port)) == {"status": "ok", "database": "up"}
    assert any(call.method == "auth.test" and call.ok for call in slack_api.calls)

    status, metrics = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "# TYPE pam_grants_total counter" in metrics
    driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SLACK_SIGNING_SECRET, api=slack_api)
    slack_api.add_user("UREQUESTER", name="alice", email="alice@example.com")  # a member: strangers are refused
    assert driver.command("UREQUESTER", "help").status == 200
    slack_api.wait_for("response_url", lambda call: "/pam" in json.dumps(call.args), timeout=10)
    assert driver.post_raw(b"command=%2Fpam&text=help", "application/x-www-form-urlencoded",
                           secret="wrong").status == 401

    healthcheck = re.search(r"CMD (\[.*\])$", dockerfile_instruction("HEALTHCHECK"))
    assert healthcheck, "the Dockerfile has no exec-form HEALTHCHECK"
    probe = json.loads(healthcheck.group(1))
    assert subprocess.run(probe, env={**env, "PATH": f"{BIN}:/usr/bin"}, timeout=10).returncode == 0
    nobody = {**env, "PATH": f"{BIN}:/usr/bin", "PORT": str(free_port())}
    assert subprocess.run(probe, env=nobody, capture_output=True, timeout=10).returncode != 0

    logs = stop_cleanly(web)
    assert "stopped: scheduler off, jobs in hand finished" in logs  # worker_exit → Container.close()
    assert "Traceback" not in logs
    worker_logs = stop_cleanly(worker)
    assert "stopped: scheduler off, jobs in hand finished" in worker_logs and "Traceback" not in worker_logs


def nice_of_each_thread(pid: int) -> set[int]:
    return {os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads each thread's priority from /proc")
def test_the_worker_process_yields_the_cpu_to_the_web_process(env: dict[str, str], start) -> None:
    """Acks have Slack's 3 s; grants can wait a moment: on one host, `pam-bot work` runs below the web's priority,
    each of its threads (deliverers, scheduler, job threads) included, and the web keeps the platform's."""
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    port = int(env["PORT"])
    web = start(procfile()["web"], env)
    wait_healthy(web, port)
    worker = start(procfile()["worker"], {**env, "PAM_AUTO_MIGRATE": "false"})
    wait_for(lambda: "worker ready" in output(worker), lambda: output(worker), 60, interval=0.2)
    assert nice_of_each_thread(worker.pid) == {max(ours, 10)}, output(worker)
    assert len(os.listdir(f"/proc/{worker.pid}/task")) > 2  # the worker's threads had started when we looked
    assert nice_of_each_thread(web.pid) == {ours}
    assert "nice 10" in output(worker) or ours > 10
    frozen = re.search(r"([\d,]+) start-up objects frozen", output(worker))  # as the web's (below)
    assert frozen and int(frozen.group(1).replace(",", "")) > 50_000, output(worker)

    level = start(procfile()["worker"], {**env, "PAM_AUTO_MIGRATE": "false", "PAM_WORKER_NICE": "0"})
    wait_for(lambda: "worker ready" in output(level), lambda: output(level), 60, interval=0.2)
    assert nice_of_each_thread(level.pid) == {ours}
    for process in (worker, level, web):
        stop_cleanly(process)


FROZEN = """
import gc, sys
from bot.runtime.wsgi import create_wsgi_app, shutdown_workers
create_wsgi_app(worker=sys.argv[1] == "worker")
print(gc.get_freeze_count(), len(gc.get_objects()))
shutdown_workers()
"""


@pytest.mark.parametrize("shape", ["web", "worker"])  # the Procfile's web; `pam-bot serve`'s (a worker in-process)
def test_a_serving_process_freezes_its_start_up_heap_out_of_the_collectors_way(env: dict[str, str],
                                                                              shape: str) -> None:
    """A full garbage collection walks every tracked object while holding the interpreter lock: over the start-up
    heap (modules, Bolt, SQLAlchemy's mappers) tens of milliseconds, added to each ack in flight. Frozen, the
    collector only walks what the process made since."""
    assert subprocess.run(["pam-bot", "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    done = subprocess.run([str(BIN / "python"), "-c", FROZEN, shape], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    frozen, tracked = map(int, done.stdout.split())
    assert frozen > 50_000 and tracked < frozen / 10, done.stdout


THREADS = """
import sys, threading
from bot.runtime.wsgi import create_wsgi_app, shutdown_workers
create_wsgi_app(worker=sys.argv[1] == "worker")
print(" ".join(sorted(thread.name for thread in threading.enumerate())))
shutdown_workers()
"""


@pytest.mark.parametrize("shape", ["web", "worker"])  # the Procfile's web; `pam-bot serve`'s (a worker in-process)
def test_the_procfile_s_web_process_runs_nothing_beside_its_requests(env: dict[str, str], shape: str) -> None:
    """The Procfile's web records and acks, nothing else: the scheduler's sweeps and the audit trail's checkpoints
    and shipping run in `pam-bot work` (and in `pam-bot serve`, which has a worker in-process), not on the
    interpreter that answers Slack."""
    assert subprocess.run(["pam-bot", "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    done = subprocess.run([str(BIN / "python"), "-c", THREADS, shape], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    threads = done.stdout.split()
    if shape == "web":
        assert threads == ["MainThread"], threads
    else:
        assert "pam-audit" in threads and any(name.startswith("APScheduler") for name in threads), threads


WORKER_MODULES = """
import os, sys
import bot.cli, bot.runtime.serve  # what `pam-bot work` imports before it builds
from bot.config import Settings
from bot.runtime.container import build
container = build(Settings.from_env(os.environ))
print(" ".join(sorted(m for m in ("alembic", "mako", "pygments", "yaml", "jsonschema") if m in sys.modules)))
container.close()
"""


def test_a_worker_on_a_migrated_database_loads_no_migration_or_config_file_code(env: dict[str, str]) -> None:
    """alembic (with mako and pygments) and the config file's YAML and JSON Schema are 16 MiB of each process
    that loads them; a worker whose database the release step migrated needs none of them."""
    assert subprocess.run(["pam-bot", "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    done = subprocess.run([str(BIN / "python"), "-c", WORKER_MODULES], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], done.stdout


def test_a_worker_priority_outside_unix_nice_values_is_one_line_naming_the_range(env: dict[str, str]) -> None:
    assert subprocess.run(["pam-bot", "db", "upgrade"], env=env, capture_output=True, timeout=60).returncode == 0
    done = subprocess.run(["pam-bot", "work"], env={**env, "PAM_WORKER_NICE": "-5"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if "PAM_WORKER_NICE" in line]
    assert said and "0 to 19" in said[0], done.stderr


def test_pam_bot_serve_runs_the_same_server(env: dict[str, str], start) -> None:
    port = free_port()
    serve = start(f"pam-bot serve --port {port}", env)
    wait_healthy(serve, port)
    logs = stop_cleanly(serve)
    assert "stopped: scheduler off" in logs and "gthread" in logs


def test_without_auth_test_the_web_process_does_not_serve_and_says_why_in_one_line(
        env: dict[str, str], start, slack_api: SlackApiStandIn) -> None:
    slack_api.fail_next("auth.test", error="invalid_auth", times=5)
    web = start(procfile()["web"], env)
    assert web.wait(timeout=60) != 0
    logs = output(web)
    said = [line for line in logs.splitlines() if "auth.test" in line]
    assert len(said) == 1 and "SLACK_BOT_TOKEN" in said[0], logs
    assert "Traceback" not in logs


def test_socket_mode_without_app_token_says_what_to_do(env: dict[str, str]) -> None:
    result = subprocess.run([str(BIN / "pam-bot"), "serve", "--socket-mode"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "xapp-" in result.stderr
    assert "Traceback" not in result.stderr


def test_socket_mode_with_app_token_asks_slack_for_a_connection(env: dict[str, str],
                                                                slack_api: SlackApiStandIn) -> None:
    # The stand-in speaks the Web API but not WebSockets: it refuses apps.connections.open like a bad token would.
    result = subprocess.run([str(BIN / "pam-bot"), "serve", "--socket-mode"], env={**env, "SLACK_APP_TOKEN": "xapp-1-A"},
                            capture_output=True, text=True, timeout=60)
    assert [c.method for c in slack_api.calls if c.method == "apps.connections.open"] == ["apps.connections.open"]
    assert result.returncode == 2
    assert "Slack refused the Socket Mode connection" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_dockerfile_declares_a_non_root_image_that_serves() -> None:
    """Read, not built: no container engine runs in the test environment; its HEALTHCHECK runs above."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$", text, re.M)  # pinned
    assert re.search(r"^RUN pip install -c constraints\.txt \.", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^CMD \["pam-bot", "serve"\]', text, re.M)
    assert "curl" not in text.split("HEALTHCHECK", 1)[1]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "*.db" in ignored


def test_readme_documents_every_setting_and_command() -> None:
    from bot.cli import parser

    readme = (ROOT / "README.md").read_text()
    settings = set(re.findall(r'reader\.\w+\("([A-Z_]+)"', (ROOT / "bot" / "config.py").read_text()))
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "PAM_LOG_FORMAT", "PAM_AUTO_MIGRATE"} <= settings
    assert not [name for name in settings if f"`{name}`" not in readme]
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert not [name for name in commands if f"`pam-bot {name}" not in readme]
    assert readme.lstrip().startswith("# pam-bot") and "make demo" in readme.split("##")[1]
