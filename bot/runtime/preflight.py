"""Before any process serves: the settings, the database (migrated once) and Slack's auth.test, checked once."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.clock import utcnow
from bot.config import Settings
from bot.domain.errors import PamError
from bot.runtime.errors import explain


def migrate_before_fork(env: Mapping[str, str], *, socket_mode: bool = False) -> Settings:
    """Before any worker starts: check the settings, reach the database (migrating it once, unless
    PAM_AUTO_MIGRATE=false) and Slack's auth.test, so a bad value stops the server with one line."""
    settings = Settings.from_env(env, socket_mode=socket_mode)
    from bot.runtime.container import build_storage
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
    except Exception as error:  # database failures become one line naming DATABASE_URL
        known = explain(error, settings.database_url)
        if known is None:
            raise
        raise known from None
    _check_slack(settings)
    return settings


def _check_slack(settings: Settings) -> None:
    """auth.test once, quietly: the failure is said in one line by the caller, not by slack_sdk's retries."""
    from bot.runtime.container import slack_client
    from bot.slack.installation import load_installation

    load_installation(slack_client(settings, logger=logging.getLogger("bot.preflight.slack")))

