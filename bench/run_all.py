"""Run every bench script one after the other (`make bench`); extra arguments (--db, --quick) go to each.

    .venv/bin/python bench/run_all.py [--db sqlite|postgresql] [--quick]

--quick: small samples, to check that every script works (minutes); without it, the figures for RESULTS.md
(ack latency with 300 requests of each kind per level, the 10,000-request burst, 100,000 sessions for the
tick): run it on a quiet machine, ideally with --db postgresql.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("profile_grant.py", "write_cost.py", "ack_commits.py", "ack_latency.py", "modal_open.py", "approve_to_dm.py",
           "burst.py", "scheduler_tick.py", "idle_cpu.py")


def main(argv: list[str]) -> int:
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            print(f"\n=== {name}: not present, skipped", flush=True)
            continue
        print(f"\n=== {name} {' '.join(argv)}", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script), *argv], cwd=HERE.parent).returncode
        print(f"=== {name}: {'ok' if code == 0 else f'exit {code}'} in {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
