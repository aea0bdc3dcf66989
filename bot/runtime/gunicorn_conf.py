"""Gunicorn settings for the Procfile (`gunicorn -c python:bot.runtime.gunicorn_conf 'bot.runtime.wsgi:create_wsgi_app(worker=False)'`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from bot.logs import logging_dict


def default_workers(env: Mapping[str, str] = os.environ) -> int:
    """WEB_CONCURRENCY, else one process per CPU; one on SQLite, which is for one process only."""
    if env.get("WEB_CONCURRENCY"):
        return int(env["WEB_CONCURRENCY"])
    if (env.get("DATABASE_URL") or "sqlite").startswith("sqlite"):
        return 1
    return os.cpu_count() or 1


# gthread: Slack needs an answer within 3 s while grants run after the ack, so one process serves many at once.
worker_class = "gthread"
threads = 16
timeout = 60
graceful_timeout = 30  # SIGTERM: in-flight requests finish, then worker_exit drains the grants
workers = default_workers()
accesslog = None  # Bolt answers every request itself; the bot logs what matters
bind = f"0.0.0.0:{os.environ.get('PORT') or '3000'}"
control_socket_disable = True  # gunicorn 25.1+: no runtime-management socket in $HOME; nothing here uses it
logconfig_dict = logging_dict(os.environ)  # gunicorn's own lines through pam-bot's formatter (JSON or text)


def on_starting(server: Any) -> None:
    """In the master, before any worker: check the settings, the database (migrated once, PAM_AUTO_MIGRATE)
    and Slack; workers never migrate."""
    from bot.domain.errors import PamError
    from bot.logs import configure_logging
    from bot.runtime.preflight import migrate_before_fork

    configure_logging(os.environ)
    try:
        migrate_before_fork(os.environ)
    except PamError as error:
        logging.getLogger("bot.runtime.serve").error("not serving: %s", error.user_message)  # one line, JSON or text
        raise SystemExit(2) from None


def worker_exit(server: Any, worker: Any) -> None:
    """In each worker as it stops: stop the scheduler and finish acknowledged grants."""
    from bot.runtime.wsgi import shutdown_workers

    shutdown_workers()


def child_exit(server: Any, worker: Any) -> None:
    """In the master, after a worker process exited: its live gauges leave the multiprocess files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def options(*, port: int, workers: int) -> dict[str, Any]:
    """The same settings for `pam-bot serve`, which runs gunicorn from code."""
    from gunicorn.config import KNOWN_SETTINGS

    chosen = {"bind": f"0.0.0.0:{port}", "workers": workers, "worker_class": worker_class, "threads": threads,
              "timeout": timeout, "graceful_timeout": graceful_timeout, "accesslog": accesslog,
              "control_socket_disable": control_socket_disable, "worker_exit": worker_exit, "child_exit": child_exit,
              "logconfig_dict": logging_dict(os.environ)}
    known = {setting.name for setting in KNOWN_SETTINGS}
    return {name: value for name, value in chosen.items() if name in known}
