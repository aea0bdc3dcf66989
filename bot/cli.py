"""The `pam-bot` command line: serve, migrate, and configure resources and accounts from scripts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from bot.cli_admin import add_admin_commands
from bot.cli_audit import add_audit_commands
from bot.cli_config import add_config_commands
from bot.cli_setup import add_setup_commands
from bot.config import Settings
from bot.demo import add_demo_command
from bot.domain.errors import PamError
from bot.logs import configure_logging

EXTRA_COMMANDS: list = []  # functions adding sub-commands (lifecycle, demo, setup...)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pam-bot", description="Just-in-time AWS console access through Slack.")
    root.add_argument("--actor", default=None, help="who the audit log names for changes (default: the OS user)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot (HTTP by default, or Socket Mode)")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default: $PORT or 3000)")
    serve.add_argument("--socket-mode", action="store_true", help="connect over Socket Mode with SLACK_APP_TOKEN")
    serve.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations (alembic upgrade head)").set_defaults(run=_db_upgrade)

    add_admin_commands(commands)
    add_audit_commands(commands)
    add_setup_commands(commands)
    add_config_commands(commands)
    add_demo_command(commands)
    for add in EXTRA_COMMANDS:
        add(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.actor = args.actor or f"cli:{_os_user()}"
    configure_logging(os.environ)
    try:
        return int(args.run(args) or 0)
    except PamError as error:
        print(f"error: {error.user_message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import create_db_engine, upgrade

    settings = Settings.from_env(os.environ, require_slack=False)
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    print("database is up to date")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.serve import serve_http, serve_socket_mode

    if args.socket_mode:
        return serve_socket_mode(os.environ)
    return serve_http(os.environ, port=args.port, workers=args.workers)


if __name__ == "__main__":
    sys.exit(main())
