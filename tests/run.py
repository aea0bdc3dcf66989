"""`make test`'s pytest step: the whole suite in two processes at once, one for the PostgreSQL variants of the
tests and one for everything else (the SQLite variants and the tests without a database), so both cores work.

The halves share nothing: the SQLite half never connects to PostgreSQL, so the slow tests that restart
PostgreSQL disturb only their own half. With arguments (`make test PYTEST_ARGS='-k grant'`) it is plain pytest.

    .venv/bin/python tests/run.py [pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HALVES = (("PostgreSQL variants", "postgresql"), ("SQLite variants and the rest", "not postgresql"))
NO_TESTS = 5  # pytest's exit code when a half selects nothing (no PostgreSQL variants collected)


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if argv:
        return subprocess.call([*pytest, *argv])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pam-tests-") as folder:
        runs = []
        for name, selection in HALVES:
            log = (Path(folder) / f"{selection.replace(' ', '-')}.log").open("w+")
            runs.append((name, log, subprocess.Popen([*pytest, "-q", "-k", selection], stdout=log,
                                                     stderr=subprocess.STDOUT)))
        failed = False
        for name, log, process in runs:
            code = process.wait()
            log.seek(0)
            print(f"===== {name}: exit {code} =====", flush=True)
            sys.stdout.write(log.read())
            failed |= code not in (0, NO_TESTS)
    print(f"===== both halves done in {time.monotonic() - started:.0f} s: {'FAILED' if failed else 'ok'} =====")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
