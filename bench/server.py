"""Start a WSGI factory on gunicorn (production settings) as a subprocess; wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT

BOT_FACTORY = "bot.runtime.wsgi:create_wsgi_app()"
BARE_FACTORY = "bare_app:create_wsgi_app()"


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master process)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found += [int(pid) for pid in (task / "children").read_text().split()]
        return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(factory: str, env: dict[str, str], log: Path, *, workers: int = 1) -> Iterator[Server]:
    """`factory` served by `workers` gthread workers with 16 threads each, like `pam-bot serve`."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "bench" / "gunicorn_conf.py"),
               "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
               "--pythonpath", f"{ROOT},{ROOT / 'bench'}", factory]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=output,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.process.returncode}); see {server.log}:\n"
                               + server.log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become healthy within {timeout:g} s; see {server.log}")


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


__all__ = ["BARE_FACTORY", "BOT_FACTORY", "Server", "gunicorn", "hwm_kib", "rss_kib"]
