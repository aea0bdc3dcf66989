"""The `pam-bot` command line: serve, migrate, and configure resources and accounts from scripts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import traceback
from collections.abc import Sequence

from bot.cli.admin import add_admin_commands
from bot.cli.audit import add_audit_commands
from bot.cli.config import add_config_commands
from bot.cli.setup import add_setup_commands
from bot.config import Settings
from bot.domain.errors import PamError
from bot.cli.health import add_health_command
from bot.cli.errors import EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, EXIT_REFUSED
from bot.cli.storage import refuse_new_sqlite
from bot.config import DEFAULT_DATABASE_URL
from bot.logs import configure_logging
from bot.runtime.errors import explain, shown_url


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pam-bot", description="Just-in-time AWS console access through Slack.")
    root.add_argument("--actor", default=None, help="who the audit log names for changes (default: the OS user)")
    root.add_argument("--verbose", action="store_true",
                      help="say which database pam-bot uses, and show the traceback of an unexpected error")
    root.add_argument("--version", action="version", version=f"pam-bot {_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot (HTTP by default, or Socket Mode)")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default: $PORT or 3000)")
    serve.add_argument("--socket-mode", action="store_true", help="connect over Socket Mode with SLACK_APP_TOKEN")
    serve.add_argument("--workers", type=int, default=None,
                       help="gunicorn worker processes (default: $WEB_CONCURRENCY, else one per CPU; 1 on SQLite)")
    serve.add_argument("--no-worker", action="store_true",
                       help="answer Slack only; `pam-bot work` processes do the work (several web and worker "
                            "processes on PostgreSQL)")
    serve.set_defaults(run=_serve, creates_database=True)

    work = commands.add_parser("work", help="run a worker: the work behind acknowledged requests, and the sweeps")
    work.add_argument("--threads", type=int, default=None, help="jobs handled at once (default 8)")
    work.set_defaults(run=_work)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations (alembic upgrade head); creates a new database and "
                                           "its ExternalId").set_defaults(run=_db_upgrade, creates_database=True)

    add_admin_commands(commands)
    add_audit_commands(commands)
    add_setup_commands(commands)
    add_config_commands(commands)
    add_health_command(commands)
    demo = commands.add_parser("demo", help="play the whole story locally: no Slack workspace, no AWS account")
    demo.set_defaults(run=_demo, creates_database=True)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure an operator can fix is one `error:` line on stderr (exit codes in README)."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit: a reader that went away shows up inside the guard
        return code
    except BrokenPipeError:  # `pam-bot schema | head`: the reader stopped; stop quietly, as shell tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush must not fail again
        return EXIT_PIPE_CLOSED


def _run(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    args.actor = cli_actor(args.actor or _os_user())
    configure_logging(os.environ)
    database_url = (os.environ.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL
    try:
        if args.verbose:
            print(f"database: {shown_url(database_url)}", file=sys.stderr)
        if not getattr(args, "creates_database", False) and getattr(args, "uses_database", True):
            refuse_new_sqlite(database_url, explicit=bool((os.environ.get("DATABASE_URL") or "").strip()))
        return int(args.run(args) or 0)
    except PamError as error:
        print(f"error: {error.user_message}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as error:  # noqa: BLE001 - the operator gets one line; --verbose shows the traceback
        known = explain(error, database_url)
        if args.verbose:
            traceback.print_exc()
        if known is not None:
            print(f"error: {known.user_message}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"error: unexpected {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''} "
              "(run `pam-bot --verbose ...` for the traceback)", file=sys.stderr)
        return EXIT_REFUSED


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pam-bot")
    except PackageNotFoundError:
        return "unknown"


def cli_actor(name: str) -> str:
    """`cli:<name>`: a name typed after --actor must never pass for a Slack user id in the audit trail."""
    name = name.strip() or "unknown"
    return name if name.startswith("cli:") else f"cli:{name}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.clock import utcnow
    from bot.services.installation import InstallationService
    from storage.db import create_db_engine, make_sessionmaker, upgrade

    settings = Settings.from_env(os.environ, require_slack=False)
    engine = create_db_engine(settings.database_url)
    try:
        upgrade(engine)
        # A new installation gets its ExternalId here, once; other commands never make one up.
        InstallationService(db=make_sessionmaker(engine), clock=utcnow).external_id(settings.external_id)
    finally:
        engine.dispose()
    print(f"database is up to date ({shown_url(settings.database_url)})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.runtime.serve import serve_http, serve_socket_mode

    if args.socket_mode:
        return serve_socket_mode(os.environ)
    return serve_http(os.environ, port=args.port, workers=args.workers, worker=not args.no_worker)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_command  # the demo and its sandbox are not part of the production CLI

    return run_command(args)


def _work(args: argparse.Namespace) -> int:
    from bot.runtime.serve import run_worker

    return run_worker(os.environ, threads=args.threads)


if __name__ == "__main__":
    sys.exit(main())
