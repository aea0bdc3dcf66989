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
from bot.domain.errors import ConfigError, PamError

log = logging.getLogger(__name__)
WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that cannot boot: the master stops instead of retrying


def create_wsgi_app(worker: bool = True) -> Any:
    """Gunicorn factory (`gunicorn 'bot.serve:create_wsgi_app()'`): one process's web path, its scheduler and,
    unless `worker=False` (separate `pam-bot work` processes), a worker."""
    from bot.container import build
    from bot.logs import configure_logging

    configure_logging(os.environ)
    try:
        container = build(Settings.from_env(os.environ))
    except PamError as error:  # e.g. auth.test failed: fail closed, said in one line rather than a traceback
        log.error("not serving: %s", error.user_message)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    container.start_background(worker=worker)
    _CONTAINERS.append(container)
    return container.web


_CONTAINERS: list[Any] = []


def shutdown_workers() -> None:
    """Stop schedulers and drain in-flight grants of this process (gunicorn worker_exit hook)."""
    while _CONTAINERS:
        _CONTAINERS.pop().close()


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured from code, so `pam-bot serve` and the Procfile run the same server."""

    def __init__(self, options: dict[str, Any], *, worker: bool = True) -> None:
        self.options, self.worker = options, worker
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_wsgi_app(self.worker)


def migrate_before_fork(env: Mapping[str, str]) -> Settings:
    """Check the settings and, unless PAM_AUTO_MIGRATE=false, migrate once before the workers start."""
    settings = Settings.from_env(env)
    if settings.auto_migrate:
        from bot.container import build_storage

        build_storage(settings, migrate=True)[0].dispose()
    return settings


def serve_http(env: Mapping[str, str], *, port: int | None, workers: int, worker: bool = True) -> int:
    from bot import gunicorn_conf

    settings = migrate_before_fork(env)
    _Gunicorn(gunicorn_conf.options(port=port or settings.port, workers=workers), worker=worker).run()
    return 0


def run_worker(env: Mapping[str, str], *, threads: int | None = None) -> int:
    """`pam-bot work`: claim acknowledged requests from the database until SIGTERM, then finish the jobs in hand."""
    from bot.container import build

    container = build(Settings.from_env(env))
    if threads:
        container.worker.threads = threads
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    container.start_background()
    log.info("worker ready")
    stopping.wait()
    log.info("stopping: finishing the jobs in hand")
    container.close()
    return 0


def serve_socket_mode(env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    if not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (an app-level token starting with xapp- and the "
                          "connections:write scope). Set it, or run `pam-bot serve` without --socket-mode for HTTP.")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.container import build

    from slack_sdk.errors import SlackApiError

    container = build(settings)
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
    log.info("connected over Socket Mode")
    threading.Event().wait()  # the handler's threads serve; SIGTERM/SIGINT end the process through stop()
    return 0
