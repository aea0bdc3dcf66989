"""Logging: readable lines, or one JSON object per line with PAM_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# At DEBUG these libraries log request and response bodies: botocore the AssumeRole credentials and the
# session token header, slack_sdk every message (the console link included). They stay at WARNING.
QUIET_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3", "slack_sdk", "slack_bolt", "werkzeug", "apscheduler")
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


def configure_logging(env: Mapping[str, str]) -> None:
    """Set up the root logger once from PAM_LOG_FORMAT / PAM_LOG_LEVEL (bad values fall back)."""
    handler = logging.StreamHandler()
    if (env.get("PAM_LOG_FORMAT") or "").lower() == "json":
        handler.setFormatter(RedactingFormatter(JsonFormatter()))
    else:
        handler.setFormatter(RedactingFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = (env.get("PAM_LOG_LEVEL") or "INFO").upper()
    root.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
    for noisy in (*QUIET_LIBRARIES, "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
