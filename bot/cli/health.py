"""`pam-bot health`: the container health check, over HTTP (/healthz) or, in Socket Mode, the scheduler heartbeat."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from bot.cli.errors import EXIT_CHECK_FAILED, EXIT_OK


def add_health_command(commands: Any) -> None:
    health = commands.add_parser(
        "health", help="exit 0 when pam-bot on this host is healthy: GET /healthz on $PORT, or in Socket Mode "
                       "(SLACK_APP_TOKEN set) a scheduler heartbeat no older than three ticks")
    health.add_argument("--socket-mode", action=argparse.BooleanOptionalAction, default=None,
                        help="check the heartbeat instead of HTTP (default: when SLACK_APP_TOKEN is set)")
    health.set_defaults(run=_health, uses_database=False)


def _health(args: argparse.Namespace) -> int:
    socket_mode = bool((os.environ.get("SLACK_APP_TOKEN") or "").strip()) if args.socket_mode is None \
        else args.socket_mode
    ok, said = _heartbeat() if socket_mode else _http(os.environ.get("PORT") or "3000")
    print(("healthy: " if ok else "unhealthy: ") + said, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def _http(port: str) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return response.status == 200, f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"{url} answered {error.code} (the database does not answer)"
    except OSError as error:
        return False, f"{url} did not answer ({getattr(error, 'reason', error)}): is `pam-bot serve` running on PORT?"


def _heartbeat() -> tuple[bool, str]:
    """Socket Mode serves no HTTP: the scheduler of this host writes a heartbeat to the database every tick."""
    from bot.cli.storage import cli_settings, refuse_new_sqlite
    from bot.clock import utcnow
    from bot.services.installation import InstallationService
    from storage.db import create_db_engine, make_sessionmaker

    settings = cli_settings()
    refuse_new_sqlite(settings.database_url, explicit=bool(os.environ.get("DATABASE_URL")))
    engine = create_db_engine(settings.database_url)
    try:
        host = socket.gethostname()
        beat = InstallationService(db=make_sessionmaker(engine), clock=utcnow).last_beat(host)
    finally:
        engine.dispose()
    limit = timedelta(seconds=3 * settings.tick_seconds + 30)
    if beat is None:
        return False, f"no scheduler heartbeat from {host} yet: is `pam-bot serve --socket-mode` running here?"
    age = utcnow() - beat
    if age > limit:
        return False, (f"the scheduler on {host} last ticked {int(age.total_seconds())}s ago (limit "
                       f"{int(limit.total_seconds())}s: three PAM_TICK_SECONDS + 30 s)")
    return True, f"the scheduler on {host} ticked {int(age.total_seconds())}s ago"
