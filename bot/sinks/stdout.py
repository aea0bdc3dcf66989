"""The stdout sink: one JSON object per line, for a log collector reading the container's output."""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from bot.services.audit_shipping import Batch, SinkFailed


class StdoutSink:
    """Writes each event (and each checkpoint) as a JSON line; logs go to stderr, so the two never mix."""

    name = "stdout"

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._lock = threading.Lock()

    def deliver(self, batch: Batch) -> None:
        out = self._out or sys.stdout
        text = "".join(json.dumps(line, sort_keys=True, ensure_ascii=False, default=str) + "\n"
                       for line in batch.lines())
        try:
            with self._lock:
                out.write(text)
                out.flush()
        except (OSError, ValueError) as error:  # a closed pipe or stream
            raise SinkFailed(f"standard output refused the lines: {error.__class__.__name__}") from None
