"""One-line answers for operators: failures of the database and files turned into PamErrors."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bot.domain.errors import ConfigError, PamError

DATABASE_URL_FORMS = "sqlite:////absolute/path/pam.db or postgresql://user:password@host:5432/name"


def shown_url(url: str) -> str:
    """A database URL fit for a message: password hidden, a SQLite file as an absolute path."""
    from storage.db import sqlite_path

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(not a URL)"
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path}"
    return parsed.render_as_string(hide_password=True)


def explain(error: BaseException, database_url: str) -> PamError | None:
    """A PamError an operator can act on for a failure outside pam-bot's own code, or None."""
    if isinstance(error, NoSuchModuleError | ArgumentError):
        return ConfigError(f"DATABASE_URL is not a database URL pam-bot can use ({_first_line(error)}); "
                           f"use {DATABASE_URL_FORMS}.", code="database_url_invalid")
    if isinstance(error, DBAPIError) and _unreachable(error):
        return ConfigError(f"the database at DATABASE_URL ({shown_url(database_url)}) cannot be reached: "
                           f"{_first_line(error.orig or error)}. Check that it is running and reachable from here, "
                           "and the host, port, name and credentials in DATABASE_URL.", code="database_unreachable")
    if isinstance(error, SQLAlchemyError):
        return ConfigError(f"the database at DATABASE_URL ({shown_url(database_url)}) failed: "
                           f"{type(error).__name__}: {_first_line(getattr(error, 'orig', None) or error)}. "
                           "Run `pam-bot db upgrade`, or `pam-bot --verbose ...` for the details.",
                           code="database_failed")
    if isinstance(error, OSError) and error.filename:
        return ConfigError(f"{error.filename}: {error.strerror or type(error).__name__}. Check that the path "
                           "exists and that this user may write there.", code="file_error")
    return None


def _unreachable(error: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line.removeprefix("(psycopg.OperationalError) ").rstrip(".")[:300]
