"""The WSGI factory gunicorn loads in each process, and the hook that stops what it started."""

from __future__ import annotations

import logging
import os
from typing import Any

from bot.config import Settings
from bot.domain.errors import PamError
from bot.runtime.errors import explain
from bot.runtime.heap import freeze_startup_heap

log = logging.getLogger(__name__)
WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that cannot boot: the master stops instead of retrying


def create_wsgi_app(worker: bool = True) -> Any:
    """Gunicorn factory (`gunicorn 'bot.runtime.wsgi:create_wsgi_app()'`): one process's web path and, unless
    `worker=False`, a worker, the scheduler and the audit thread. With `worker=False` (the Procfile's web, beside
    `pam-bot work` processes) the process records and acks and runs nothing else on the interpreter that answers
    Slack."""
    from bot.runtime.container import build
    from bot.logs import configure_logging

    configure_logging(os.environ)
    settings = Settings.from_env(os.environ)
    try:  # the master migrated already (gunicorn_conf.on_starting, or the release phase): not again per worker
        container = build(settings, migrate=False)
    except Exception as error:  # auth.test failed, the database went away: one line, no traceback
        known = error if isinstance(error, PamError) else explain(error, settings.database_url)
        if known is None:
            raise
        log.error("not serving: %s", known.user_message)
        raise SystemExit(WORKER_BOOT_ERROR) from None
    if worker:
        container.start_background()
    _CONTAINERS.append(container)
    freeze_startup_heap()
    return container.web


_CONTAINERS: list[Any] = []


def shutdown_workers() -> None:
    """Stop schedulers and drain in-flight grants of this process (gunicorn worker_exit hook)."""
    while _CONTAINERS:
        _CONTAINERS.pop().close()

