"""Start a WSGI factory on gunicorn (production settings) as a subprocess; wait until it answers."""

from __future__ import annotations

import os
import signal
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

from gunicorn_conf import HANDLER_TIMES
from harness import ROOT

BOT_FACTORY = "bot.runtime.wsgi:create_wsgi_app()"  # `pam-bot serve`: the web path and a worker in each process
WEB_FACTORY = "bot.runtime.wsgi:create_wsgi_app(worker=False)"  # the Procfile's web: record and ack only
BARE_FACTORY = "bare_app:create_wsgi_app()"  # Bolt's default HTTP ack: listeners on an executor, a 10 ms ack poll
BARE_SYNC_FACTORY = "bare_app:create_wsgi_app(sync=True)"  # the ack in the request's thread (process_before_response)
BARE_DURABLE_FACTORY = "bare_app:create_wsgi_app(durable=True)"  # as sync, after one INSERT of the body (PostgreSQL)


class HandlerTimes:
    """The handler spans the servers started with `env()` write (bench/gunicorn_conf.py, PAM_BENCH_HANDLER_TIMES)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._seen: dict[Path, int] = {}  # lines read of each process's file

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, HANDLER_TIMES: str(self.directory)}

    def take(self) -> list[float]:
        """The spans written since the last call (seconds, in no particular order)."""
        taken: list[float] = []
        for path in sorted(self.directory.glob("*.txt")):
            lines = path.read_text().split()
            taken += [float(line) for line in lines[self._seen.get(path, 0):]]
            self._seen[path] = len(lines)
        return taken


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


@dataclass
class Deployment:
    """The Procfile's shape: a gunicorn web that only records and acks, and `pam-bot work` processes."""

    web: Server
    workers: list[subprocess.Popen[bytes]]

    @property
    def events_url(self) -> str:
        return self.web.events_url

    def processes(self) -> dict[str, int]:
        """name → pid of every serving process: `web-N` (gunicorn workers) and `work-N`."""
        found = {f"web-{n}": pid for n, pid in enumerate(self.web.worker_pids(), 1)}
        found.update({f"work-{n}": process.pid for n, process in enumerate(self.workers, 1)})
        return found

    @contextmanager
    def work_paused(self, pause: bool = True) -> Iterator[None]:
        """With `pause`, the `pam-bot work` processes are stopped (SIGSTOP) for the block and continued after it, so
        what the block times is the web path alone; call it while they are idle (nothing in hand)."""
        if not pause or not self.workers:
            yield
            return
        for process in self.workers:
            os.kill(process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for process in self.workers:
                os.kill(process.pid, signal.SIGCONT)

    def describe(self) -> str:
        web = f"{len(self.web.worker_pids())} gunicorn gthread web process(es) × 16 threads"
        if not self.workers:
            return f"{web}, each with its worker in-process (`pam-bot serve`, SQLite's one-process shape)"
        return f"{web} that only record and ack (worker=False) + {len(self.workers)} `pam-bot work` process(es)"


@contextmanager
def deployment(env: dict[str, str], logs: Path, *, web_workers: int = 1, work_processes: int = 1,
               work_threads: int | None = None) -> Iterator[Deployment]:
    """`web_workers` gthread web processes (worker=False) and `work_processes` `pam-bot work` processes; with
    `work_processes=0`, `pam-bot serve`'s shape: the web process runs its worker too (SQLite is for one process:
    a web and a worker process would queue for its single write lock)."""
    if work_processes == 0:
        with gunicorn(BOT_FACTORY, env, logs / "web.log", workers=web_workers) as alone:
            yield Deployment(alone, [])
        return
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(work_processes):
            command = [sys.executable, "-m", "bot", "work", *(["--threads", str(work_threads)] if work_threads else [])]
            with (logs / f"work-{n + 1}.log").open("wb") as output:
                started.append(subprocess.Popen(command, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=output,
                                                stderr=subprocess.STDOUT, cwd=ROOT))
        with gunicorn(WEB_FACTORY, env, logs / "web.log", workers=web_workers) as web:
            for process in started:
                if process.poll() is not None:
                    raise RuntimeError(f"pam-bot work exited ({process.returncode}); see {logs}")
            yield Deployment(web, started)
    finally:
        for process in started:
            process.terminate()
        for process in started:
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


def threads_of(pid: int) -> int:
    """Threads of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


TICK = os.sysconf("SC_CLK_TCK")  # the kernel's CPU-time unit in /proc (1/100 s on Linux)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU of each process (all its threads) from /proc/<pid>/stat; one that has gone is left out."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it has ended
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of proc(5))
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two `cpu_seconds` readings: by the processes in both, and all of one that started
    in between (a new PostgreSQL backend); what one that ended in between used since `before` is not known."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the backends serving both apps, the WAL writer, …)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle (all cores, from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return (sum(values) - values[3] - values[4]) / TICK  # less idle and iowait


def tasks_of(pid: int) -> list[int]:
    """The thread ids of a process (a CPU affinity belongs to each thread; a new thread takes its creator's)."""
    try:
        return [int(entry.name) for entry in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:  # it has ended
        return []


@dataclass(frozen=True)
class Split:
    """Which cores the web servers (and the load generator, whose cost is the same for both servers) run on, and
    which the rest: the work processes, PostgreSQL and the stand-ins."""

    web: set[int]
    rest: set[int]

    def describe(self) -> str:
        return (f"the web servers and the load generator on core(s) {sorted(self.web)}; the work processes, "
                f"PostgreSQL and the stand-ins on core(s) {sorted(self.rest)}")


@contextmanager
def cores_split(web: list[int], rest: list[int]) -> Iterator[Split]:
    """The `web` processes (gunicorn masters and workers, every thread) on the first half of the machine's cores;
    this process (its threads: the stand-ins), the `rest` (`pam-bot work`) and every PostgreSQL process on the other
    half, as if the web ran on hosts of its own. Processes started meanwhile take their parent's half (the backends
    PostgreSQL forks); a load generator is placed with `Sender(split.web)`. Every affinity changed is put back after;
    a PostgreSQL process forked meanwhile gets the widest one its server's processes had."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--split-cores needs at least two cores")
    split = Split(set(cores[: len(cores) // 2]), set(cores[len(cores) // 2:]))
    changed: dict[int, set[int]] = {}

    def pin(pids: list[int], to: set[int]) -> None:
        for pid in pids:
            for tid in tasks_of(pid):
                try:
                    changed.setdefault(tid, os.sched_getaffinity(tid))
                    os.sched_setaffinity(tid, to)
                except OSError:  # it ended, or it is not ours to move
                    continue

    database = postgres_pids()
    was = {pid: os.sched_getaffinity(pid) for pid in database}
    try:
        pin(web, split.web)
        pin([os.getpid(), *rest, *database], split.rest)
        yield split
    finally:
        widest = max(was.values(), key=len, default=set(cores))
        for tid, mask in changed.items():
            try:
                os.sched_setaffinity(tid, mask)
            except OSError:
                continue
        for pid in postgres_pids():  # backends forked while the postmaster was pinned
            try:
                os.sched_setaffinity(pid, was.get(pid, widest))
            except OSError:
                continue


__all__ = ["BARE_DURABLE_FACTORY", "BARE_FACTORY", "BARE_SYNC_FACTORY", "BOT_FACTORY", "WEB_FACTORY", "Deployment",
           "HandlerTimes", "Server", "Split", "cores_split", "cpu_seconds", "cpu_used", "deployment", "gunicorn",
           "hwm_kib", "machine_busy_seconds", "postgres_pids", "rss_kib", "threads_of"]
