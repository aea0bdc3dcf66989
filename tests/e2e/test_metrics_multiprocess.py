"""Several processes, one scrape: with PROMETHEUS_MULTIPROC_DIR every process's counters add up in /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.errors import ConfigError
from bot.runtime import gunicorn_conf
from bot.runtime.gunicorn_conf import default_workers
from bot.runtime.metrics import MULTIPROC_ENV, Metrics, ensure_multiproc_dir

ROOT = Path(__file__).resolve().parents[2]


def count_in_process(directory: Path, grants: int, retries: int) -> None:
    env = {**os.environ, MULTIPROC_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.e2e.metrics_process", str(grants), str(retries)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "done"


def test_two_processes_counters_are_added_up(tmp_path: Path) -> None:
    count_in_process(tmp_path, grants=3, retries=1)
    count_in_process(tmp_path, grants=4, retries=2)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process

    metrics = Metrics(env={MULTIPROC_ENV: str(tmp_path)}, queue=lambda: (5, 2.5))
    assert metrics.value("pam_grants_total") == 7
    assert metrics.value("pam_audit_events_total", action="session.granted", outcome="ok") == 7
    assert metrics.value("pam_delivery_retries_total", method="chat.postMessage") == 3
    assert metrics.value("pam_queue_depth") == 5  # read from the database at scrape time, in every mode
    text = metrics.render().decode()
    assert text.count("# TYPE pam_grants_total counter") == 1 and "pam_grants_total 7.0" in text


def test_an_empty_directory_scrapes_no_counts(tmp_path: Path) -> None:
    metrics = Metrics(env={MULTIPROC_ENV: str(tmp_path)})
    assert metrics.value("pam_grants_total") == 0
    assert b"pam_grants_total" not in metrics.render()  # this process's own default registry is not read


def test_a_missing_directory_is_created_and_an_unusable_one_is_refused(tmp_path: Path) -> None:
    Metrics(env={MULTIPROC_ENV: str(tmp_path / "made")})
    assert (tmp_path / "made").is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=MULTIPROC_ENV):
        ensure_multiproc_dir({MULTIPROC_ENV: str(tmp_path / "file" / "below")})


def test_web_processes_default_to_one_per_cpu_and_one_on_sqlite() -> None:
    postgres = "postgresql+psycopg://pam@db/pam"
    assert default_workers({"DATABASE_URL": postgres}) == (os.cpu_count() or 1)
    assert default_workers({"DATABASE_URL": postgres, "WEB_CONCURRENCY": "3"}) == 3
    assert default_workers({"DATABASE_URL": "sqlite:///pam.db"}) == 1 and default_workers({}) == 1
    assert gunicorn_conf.options(port=3000, workers=2)["child_exit"] is gunicorn_conf.child_exit
