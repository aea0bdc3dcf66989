"""Running the bot: gunicorn for HTTP (one container per worker process) or Socket Mode."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings
from bot.domain.errors import ConfigError
from bot.runtime.heap import freeze_startup_heap
from bot.runtime.preflight import migrate_before_fork
from bot.runtime.wsgi import create_wsgi_app

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):
    """Gunicorn configured from code, so `pam-bot serve` and the Procfile run the same server."""

    def __init__(self, options: dict[str, Any], *, worker: bool = True) -> None:
        self.options, self.worker = options, worker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_wsgi_app(self.worker)


def serve_http(env: Mapping[str, str], *, port: int | None, workers: int | None, worker: bool = True) -> int:
    from bot.runtime import gunicorn_conf

    settings = migrate_before_fork(env)
    count = workers or gunicorn_conf.default_workers(env)
    if count > 1 and not env.get("PROMETHEUS_MULTIPROC_DIR"):
        log.warning("%s web processes without PROMETHEUS_MULTIPROC_DIR: each scrape of /metrics sees one process's "
                    "counters only (see README, Metrics)", count)
    _Gunicorn(gunicorn_conf.options(port=port or settings.port, workers=count), worker=worker).run()
    return 0


def run_worker(env: Mapping[str, str], *, threads: int | None = None) -> int:
    """`pam-bot work`: claim acknowledged requests from the database until SIGTERM, then finish the jobs in hand."""
    from bot.runtime.container import build

    settings = Settings.from_env(env)
    nice = yield_cpu_to_web(settings.worker_nice)  # before any thread starts: Linux threads inherit it
    container = build(settings)
    if threads:
        container.worker.threads = threads
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    container.start_background()
    frozen = freeze_startup_heap()
    log.info("worker ready (CPU priority: nice %s; %s start-up objects frozen out of the garbage collector's way)",
             nice, f"{frozen:,}")
    stopping.wait()
    log.info("stopping: finishing the jobs in hand")
    container.close()
    return 0


def yield_cpu_to_web(nice: int) -> int | None:
    """Lower this process's CPU priority to `nice` (never raise it), so that acks served on the same host keep
    Slack's deadline while grants wait a moment; the nice value now (None where the OS has no nice)."""
    if not hasattr(os, "getpriority"):
        return None
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice > current:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


def serve_socket_mode(env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env, socket_mode=True)
    if not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (an app-level token starting with xapp- and the "
                          "connections:write scope). Set it, or run `pam-bot serve` without --socket-mode for HTTP.")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.runtime.container import build

    from slack_sdk.errors import SlackApiError

    migrate_before_fork(env, socket_mode=True)
    container = build(settings, migrate=False)
    handler = SocketModeHandler(container.app, settings.slack_app_token)

    def stop(signum: int, frame: Any) -> None:
        log.info("stopping: finishing in-flight work")
        handler.close()
        container.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        handler.connect()
    except SlackApiError as error:
        container.close()
        raise ConfigError(f"Slack refused the Socket Mode connection ({error.response.get('error', 'error')}). "
                          "Check SLACK_APP_TOKEN: an app-level token (xapp-) of this app with connections:write, "
                          "and Socket Mode turned on in the app's settings.", code="socket_mode_refused") from None
    container.start_background()
    freeze_startup_heap()
    log.info("connected over Socket Mode")
    threading.Event().wait()  # the handler's threads serve; SIGTERM/SIGINT end the process through stop()
    return 0
