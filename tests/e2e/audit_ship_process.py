"""The bot's background work in its own OS process (scheduler and audit thread), until it is killed.

Usage: python -m tests.e2e.audit_ship_process. Reads everything from the environment, prints `ready` once
built and started, then waits for standard input to close.
"""

from __future__ import annotations

import os
import sys

from bot.config import Settings
from bot.runtime.container import build


def main() -> int:
    container = build(Settings.from_env(os.environ), aws_env=dict(os.environ), migrate=False)
    container.start_background()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
