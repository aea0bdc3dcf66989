"""Logging: readable lines, or one JSON object per line with PAM_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = (env.get("PAM_LOG_LEVEL") or "INFO").upper()
    root.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
    for noisy in ("botocore", "boto3", "urllib3", "slack_sdk", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
