"""Settings: built from a mapping, every problem reported at once, secrets never in repr."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.domain.errors import ConfigError

GOOD = {"SLACK_BOT_TOKEN": "xoxb-secret-token", "SLACK_SIGNING_SECRET": "signing-secret-value"}


def test_defaults() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.database_url == "sqlite:///pam.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.tick_seconds, settings.expiry_warning_seconds, settings.request_timeout_seconds) == (30, 300, 3600)
    assert settings.auto_migrate is True and settings.admins == frozenset()


def test_values_are_parsed() -> None:
    settings = Settings.from_env({**GOOD, "PAM_ADMINS": "U111, W222", "PAM_EXPIRY_WARNING": "10m",
                                  "PAM_REQUEST_TIMEOUT": "2h", "PAM_TICK_SECONDS": "5", "PAM_AUTO_MIGRATE": "false",
                                  "SLACK_API_URL": "http://127.0.0.1:9/api", "PAM_EXTERNAL_ID": "abc-123"})
    assert settings.admins == {"U111", "W222"}
    assert settings.expiry_warning_seconds == 600 and settings.request_timeout_seconds == 7200
    assert settings.tick_seconds == 5 and settings.auto_migrate is False
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SLACK_BOT_TOKEN": "not-a-bot-token", "PAM_TICK_SECONDS": "soon",
                           "PAM_ADMINS": "alice", "PORT": "99999", "PAM_EXTERNAL_ID": "x"})
    message = caught.value.user_message
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PAM_TICK_SECONDS", "PAM_ADMINS", "PORT",
                 "PAM_EXTERNAL_ID"):
        assert name in message


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env({**GOOD, "SLACK_APP_TOKEN": "xapp-app-secret",
                                  "DATABASE_URL": "postgresql+psycopg://u:dbpassword@h/db"})
    text = repr(settings) + str(settings)
    for secret in ("xoxb-secret-token", "signing-secret-value", "xapp-app-secret", "dbpassword"):
        assert secret not in text


def test_slack_is_optional_for_the_cli() -> None:
    assert Settings.from_env({}, require_slack=False).slack_bot_token == ""
