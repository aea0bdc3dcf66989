"""Installation-wide values: the ExternalId (configured, or generated once and stored) and scheduler heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.domain.errors import ConfigError
from bot.domain.external_id import generate_external_id, validate_external_id
from bot.services.base import UseCase

EXTERNAL_ID_KEY = "external_id"
HEARTBEAT_PREFIX = "heartbeat:"  # + host name: one row per process host, written by its scheduler
_KEY_LENGTH = 64


class InstallationService(UseCase):
    """Reads and creates installation settings."""

    def external_id(self, configured: str | None, *, create: bool = True) -> str:
        """PAM_EXTERNAL_ID when set; otherwise the stored one, generated on first use only when `create`.

        The CLI passes create=False: a new ExternalId breaks every trust policy pasted from the old one, so it
        is never made as a side effect of pointing a command at the wrong database."""
        if configured:
            return validate_external_id(configured)
        try:
            return self._stored_or_new(create)
        except IntegrityError:  # another replica generated it a moment ago: use theirs
            return self._stored_or_new(create)

    def _stored_or_new(self, create: bool) -> str:
        with self.transaction() as tx:
            stored = tx.config.setting(EXTERNAL_ID_KEY)
            if stored:
                return stored
            if not create:
                raise ConfigError("this database holds no ExternalId and PAM_EXTERNAL_ID is not set; pam-bot will "
                                  "not make up a new one here (trust policies name the old one). Point DATABASE_URL "
                                  "at the database pam-bot serves from, set PAM_EXTERNAL_ID, or run `pam-bot db "
                                  "upgrade` to generate one for a new installation.", code="external_id_missing")
            value = generate_external_id()
            tx.config.set_setting(EXTERNAL_ID_KEY, value, tx.now)
            tx.audit("pam-bot", "installation.external_id_generated", outcome="ok")
            return value

    def beat(self, host: str) -> None:
        """Record that this host's scheduler is alive now (Socket Mode's health check reads it)."""
        with self.transaction() as tx:
            tx.config.set_setting(_heartbeat_key(host), tx.now.isoformat(), tx.now)

    def last_beat(self, host: str) -> datetime | None:
        """When this host's scheduler last ticked, or None when it never did."""
        with self.transaction() as tx:
            value = tx.config.setting(_heartbeat_key(host))
        return datetime.fromisoformat(value) if value else None


def _heartbeat_key(host: str) -> str:
    return (HEARTBEAT_PREFIX + host)[:_KEY_LENGTH]
