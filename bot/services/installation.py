"""Installation-wide values: the ExternalId is configured, or generated once and stored."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.domain.external_id import generate_external_id, validate_external_id
from bot.services.base import UseCase

EXTERNAL_ID_KEY = "external_id"


class InstallationService(UseCase):
    """Reads and creates installation settings."""

    def external_id(self, configured: str | None) -> str:
        """PAM_EXTERNAL_ID when set; otherwise the stored one, generated on first use."""
        if configured:
            return validate_external_id(configured)
        try:
            return self._stored_or_new()
        except IntegrityError:  # another replica generated it a moment ago: use theirs
            return self._stored_or_new()

    def _stored_or_new(self) -> str:
        with self.transaction() as tx:
            stored = tx.config.setting(EXTERNAL_ID_KEY)
            if stored:
                return stored
            value = generate_external_id()
            tx.config.set_setting(EXTERNAL_ID_KEY, value, tx.now)
            tx.audit("pam-bot", "installation.external_id_generated", outcome="ok")
            return value
