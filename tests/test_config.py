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


@pytest.mark.parametrize("name", ["SLACK_API_URL", "PAM_SIGNIN_URL"])
@pytest.mark.parametrize("value", ["http://slack.example.com/api/", "http://10.0.0.8/federation",
                                   "http://localhost.evil.example/", "http://127.0.0.1.nip.io/", "ftp://slack.com/"])
def test_urls_carrying_secrets_must_be_https_except_on_loopback(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**GOOD, name: value})
    assert name in caught.value.user_message and "https://" in caught.value.user_message


def test_both_plain_http_urls_are_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**GOOD, "SLACK_API_URL": "http://proxy.internal/api/",
                           "PAM_SIGNIN_URL": "http://signin.internal/federation"})
    assert "SLACK_API_URL" in caught.value.user_message and "PAM_SIGNIN_URL" in caught.value.user_message


@pytest.mark.parametrize("value", ["https://slack.example.com/api/", "http://127.0.0.1:9/api/",
                                   "http://127.8.9.10/api/", "http://[::1]:8080/api/", "http://localhost:3000/api/",
                                   "http://LOCALHOST/api/"])
def test_https_anywhere_and_plain_http_on_loopback_are_accepted(value: str) -> None:
    settings = Settings.from_env({**GOOD, "SLACK_API_URL": value, "PAM_SIGNIN_URL": value})
    assert settings.slack_api_url == value and settings.signin_url == value


def test_the_console_issuer_is_an_https_url_by_default_and_can_be_chosen() -> None:
    assert Settings.from_env(GOOD).issuer_url == "https://slack.com/"
    assert Settings.from_env({**GOOD, "PAM_ISSUER_URL": "https://pam.example.com/"}).issuer_url == \
        "https://pam.example.com/"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**GOOD, "PAM_ISSUER_URL": "pam-bot"})
    assert "PAM_ISSUER_URL" in caught.value.user_message
