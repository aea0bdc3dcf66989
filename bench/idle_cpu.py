"""CPU an idle `pam-bot work` process costs: what a worker with nothing to do takes from the web on a shared host.

    .venv/bin/python bench/idle_cpu.py [--db sqlite|postgresql] [--seconds N] [--quick]

Starts `pam-bot work` against the stand-ins (its worker threads, outbox threads, scheduler and, on PostgreSQL,
its LISTEN connection), lets it settle, then reads its CPU time and the PostgreSQL server processes' from /proc
over the window. Nothing is asked of it meanwhile: the figures are its polls and timers alone. Printed, never
asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import bot_env, database, machine, sandbox, seed

SETTLE_SECONDS = 8.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database of the bot")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
    parser.add_argument("--quick", action="store_true", help="a 5 s window (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 5.0
    return args


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_seconds() -> float:
    """CPU of every process whose command line names postgres (the server and its backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"postgres" in (entry / "cmdline").read_bytes()[:200]:
                    total += cpu_seconds(entry.name)
            except OSError:
                continue
    return total


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as tmp, sandbox() as box, database(args.db, Path(tmp)) as url:
        env = bot_env(box, url)
        seed(box, env)
        here = str(Path(__file__).resolve().parent.parent)  # this checkout's code, also from a git worktree
        worker = subprocess.Popen([sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
                                   "work"], env={**env, "PYTHONPATH": here}, cwd=here)
        try:
            time.sleep(SETTLE_SECONDS)
            own, server = cpu_seconds(worker.pid), postgres_seconds()
            time.sleep(args.seconds)
            own, server = cpu_seconds(worker.pid) - own, postgres_seconds() - server
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    print(f"\nIdle `pam-bot work`, {args.db}, {args.seconds:.0f} s; {machine()}")
    print(f"worker process: {100 * own / args.seconds:.1f}% of a core")
    if args.db == "postgresql":
        print(f"PostgreSQL processes (all of them): {100 * server / args.seconds:.1f}% of a core")


if __name__ == "__main__":
    main()
