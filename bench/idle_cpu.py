"""CPU an idle `pam-bot work` process costs: what a worker with nothing to do takes from the web on a shared host.

    .venv/bin/python bench/idle_cpu.py [--db sqlite|postgresql] [--seconds N] [--quick]

Starts `pam-bot work` against the stand-ins (its worker threads, outbox threads, scheduler and, on PostgreSQL,
its LISTEN connection), lets it settle, then reads its CPU time and the PostgreSQL server processes' from /proc
over the window. Nothing is asked of it meanwhile: the figures are its polls and timers alone. Printed, never
asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import bot_env, database, machine, sandbox, seed
from server import cpu_seconds, cpu_used, postgres_pids

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
            own_before, server_before = cpu_seconds([worker.pid]), cpu_seconds(postgres_pids())
            time.sleep(args.seconds)
            own = cpu_used(own_before, cpu_seconds([worker.pid]))
            server = cpu_used(server_before, cpu_seconds(postgres_pids()))
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    print(f"\nIdle `pam-bot work`, {args.db}, {args.seconds:.0f} s; {machine()}")
    print(f"worker process: {100 * own / args.seconds:.1f}% of a core")
    if args.db == "postgresql":
        print(f"PostgreSQL processes (all of them): {100 * server / args.seconds:.1f}% of a core")


if __name__ == "__main__":
    main()
