"""Logging: readable lines, or one JSON object per line with PAM_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# At DEBUG these libraries log request and response bodies: botocore the AssumeRole credentials and the
# session token header, slack_sdk every message (the console link included). They stay at WARNING.
QUIET_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3", "slack_sdk", "slack_bolt", "werkzeug", "apscheduler",
                   "alembic")  # alembic: storage.db says in one line when the schema changed
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SECRETS = (  # a last line of defence: pam-bot itself never logs these
    (re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"), r"\1-REDACTED"),
    (re.compile(r"(SigninToken=|Session=%7B)[^&\s\"'<>]+"), r"\1REDACTED"),
    (re.compile(r"(?i)([\"']?(?:SigninToken|sessionToken|sessionKey|SecretAccessKey|X-Amz-Security-Token)[\"']?"
                r"\s*[:=>]\s*[\"'b]*)[^\"'\s,&<}]+"), r"\1REDACTED"),
)


def redact(text: str) -> str:
    """Remove Slack tokens, sign-in tokens and AWS secret keys / session tokens from a log line."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Wraps another formatter and redacts the finished line (message, extra fields and traceback)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given with `extra=` are kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def formatter(*, json_lines: bool) -> logging.Formatter:
    """The one formatter of every line pam-bot and gunicorn write (dictConfig factory)."""
    if json_lines:
        return RedactingFormatter(JsonFormatter())
    return RedactingFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))


def logging_dict(env: Mapping[str, str]) -> dict[str, Any]:
    """dictConfig for the process: one stderr handler with our formatter on the root; gunicorn's own loggers
    (also given to gunicorn as `logconfig_dict`) propagate to it, so its lines are formatted the same way."""
    level = (env.get("PAM_LOG_LEVEL") or "INFO").upper()
    own = {"level": "INFO", "handlers": [], "propagate": True}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"pam": {"()": formatter, "json_lines": (env.get("PAM_LOG_FORMAT") or "").lower() == "json"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "pam", "stream": "ext://sys.stderr"}},
        "root": {"level": level if level in LEVELS else "INFO", "handlers": ["console"]},
        "loggers": {"gunicorn.error": own, "gunicorn.access": own,
                    # the start-up auth.test: its failure is said once, in pam-bot's words, not per retry
                    "bot.preflight.slack": {"level": "CRITICAL"},
                    **{name: {"level": "WARNING"} for name in (*QUIET_LIBRARIES, "alembic.runtime.plugins")}},
    }


class _Drop(logging.Filter):
    """Drops records whose message is exactly `message`."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


def configure_logging(env: Mapping[str, str]) -> None:
    """Set up the root logger once from PAM_LOG_FORMAT / PAM_LOG_LEVEL (bad values fall back)."""
    from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

    logging.config.dictConfig(logging_dict(env))
    # Bolt reads SLACK_BOT_TOKEN from the environment even when it is given a client (ours retries 429s), then
    # warns that the token is unused at every start; its API has no way to say "the client is deliberate".
    bolt = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _Drop) for f in bolt.filters):
        bolt.addFilter(_Drop(warning_client_prioritized_and_token_skipped()))
