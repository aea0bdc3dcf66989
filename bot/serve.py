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

from bot.cli.errors import explain
from bot.clock import utcnow
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
    settings = Settings.from_env(os.environ)
    try:  # the master migrated already (gunicorn_conf.on_starting, or the release phase): not again per worker
        container = build(settings, migrate=False)
    except Exception as error:  # noqa: BLE001 - auth.test failed, the database went away: one line, no traceback
        known = error if isinstance(error, PamError) else explain(error, settings.database_url)
        if known is None:
            raise
        log.error("not serving: %s", known.user_message)
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


def migrate_before_fork(env: Mapping[str, str], *, socket_mode: bool = False) -> Settings:
    """Before any worker starts: check the settings, reach the database (migrating it once, unless
    PAM_AUTO_MIGRATE=false) and Slack's auth.test, so a bad value stops the server with one line."""
    settings = Settings.from_env(env, socket_mode=socket_mode)
    from bot.container import build_storage
    from bot.services.installation import InstallationService
    from storage.db import ping_or_raise

    try:
        engine, db = build_storage(settings, migrate=settings.auto_migrate)
        try:
            ping_or_raise(engine)
            InstallationService(db=db, clock=utcnow).external_id(settings.external_id)
        finally:
            engine.dispose()
    except PamError:
        raise
    except Exception as error:  # noqa: BLE001 - database failures become one line naming DATABASE_URL
        known = explain(error, settings.database_url)
        if known is None:
            raise
        raise known from None
    _check_slack(settings)
    return settings


def _check_slack(settings: Settings) -> None:
    """auth.test once, quietly: the failure is said in one line by the caller, not by slack_sdk's retries."""
    from bot.container import slack_client
    from bot.slack.installation import load_installation

    load_installation(slack_client(settings, logger=logging.getLogger("bot.preflight.slack")))


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
    settings = Settings.from_env(env, socket_mode=True)
    if not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (an app-level token starting with xapp- and the "
                          "connections:write scope). Set it, or run `pam-bot serve` without --socket-mode for HTTP.")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.container import build

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
    log.info("connected over Socket Mode")
    threading.Event().wait()  # the handler's threads serve; SIGTERM/SIGINT end the process through stop()
    return 0
