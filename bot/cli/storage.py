"""The CLI's storage: the database DATABASE_URL names (never created here) and its stored ExternalId."""

from __future__ import annotations

import os

from sqlalchemy.orm import Session, sessionmaker

from bot.config import DEFAULT_DATABASE_URL, Settings
from bot.domain.errors import ConfigError


def cli_settings() -> Settings:
    return Settings.from_env(os.environ, require_slack=False)


def cli_storage(settings: Settings) -> sessionmaker[Session]:
    """The database, migrated to the code's schema (the CLI only runs once `refuse_new_sqlite` let it)."""
    from bot.runtime.container import build_storage

    return build_storage(settings, migrate=True)[1]


def cli_external_id(settings: Settings, db: sessionmaker[Session]) -> str:
    """PAM_EXTERNAL_ID or the stored one; never a new one (ConfigError instead)."""
    from bot.clock import utcnow
    from bot.services.installation import InstallationService

    return InstallationService(db=db, clock=utcnow).external_id(settings.external_id, create=False)


def refuse_new_sqlite(database_url: str, *, explicit: bool) -> None:
    """Only `db upgrade`, `serve` and `demo` may create a SQLite file: elsewhere a missing file is a wrong folder
    or a typo, and a new database would come with a new ExternalId."""
    from storage.db import sqlite_path

    try:
        path = sqlite_path(database_url)
    except Exception:  # noqa: BLE001 - not a URL: the command itself says so, with the cause
        return
    if path is None or path.exists():
        return
    why = ("DATABASE_URL names a file that does not exist" if explicit else
           f"DATABASE_URL is not set, and the default {DEFAULT_DATABASE_URL} is relative to the current folder")
    raise ConfigError(f"no database at {path} ({why}); pam-bot will not create a new one here. Run this from the "
                      "folder that holds pam.db, set DATABASE_URL (e.g. sqlite:////srv/pam/pam.db), or create a new "
                      "installation with `pam-bot db upgrade`.", code="database_missing")
