"""PAM_AUDIT_* settings: one error naming every problem; the key and the webhook's secret stay out of repr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.domain.errors import ConfigError


def settings(**env: str) -> Settings:
    return Settings.from_env(env, require_slack=False)


def test_defaults_ship_nowhere_and_key_nothing() -> None:
    audit = settings().audit
    assert audit.key is None and audit.sinks == () and audit.s3_prefix == "pam-audit/"


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        settings(PAM_AUDIT_KEY="short", PAM_AUDIT_SINKS="stdout,syslog,webhook,s3",
                 PAM_AUDIT_SHIP_BATCH="0")
    message = error.value.user_message
    for name in ("PAM_AUDIT_KEY", "syslog", "PAM_AUDIT_WEBHOOK_URL is required", "PAM_AUDIT_S3_BUCKET is required",
                 "PAM_AUDIT_SHIP_BATCH"):
        assert name in message


@pytest.mark.parametrize("url", ["http://audit.example.com/in", "ftp://audit.example.com/", "audit.example.com"])
def test_webhook_must_be_https_except_to_this_machine(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings(PAM_AUDIT_SINKS="webhook", PAM_AUDIT_WEBHOOK_URL=url)
    assert "PAM_AUDIT_WEBHOOK_URL" in error.value.user_message
    assert settings(PAM_AUDIT_SINKS="webhook", PAM_AUDIT_WEBHOOK_URL="http://127.0.0.1:8080/in").audit.sinks


def test_secrets_stay_out_of_repr() -> None:
    key, secret = "k" * 48, "whsec-topsecret"
    found = settings(PAM_AUDIT_KEY=key, PAM_AUDIT_SINKS="webhook,s3",
                     PAM_AUDIT_WEBHOOK_URL="https://siem.example.com/in?token=abc",
                     PAM_AUDIT_WEBHOOK_SECRET=secret, PAM_AUDIT_S3_BUCKET="trail", PAM_AUDIT_S3_PREFIX="pam")
    assert found.audit.sinks == ("webhook", "s3") and found.audit.s3_prefix == "pam/"
    assert found.audit.key is not None
    for hidden in (key, secret, "token=abc"):
        assert hidden not in repr(found)


def test_readme_documents_every_audit_setting() -> None:
    root = Path(__file__).resolve().parents[2]
    names = set(re.findall(r'reader\.\w+\("([A-Z0-9_]+)"', (root / "bot" / "domain" / "audit_settings.py").read_text()))
    readme = (root / "README.md").read_text()
    assert "PAM_AUDIT_KEY" in names and len(names) >= 10
    assert not [name for name in names if f"| `{name}` |" not in readme]
    assert "## Audit shipping" in readme
