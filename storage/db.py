"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import select
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration (tests/storage/test_schema.py checks it against alembic's head). A process whose database is
# there already never imports alembic: it and its templates (mako, pygments) are 12 MiB of every worker's memory.
SCHEMA_HEAD = "0018"
# A pooled PostgreSQL connection idle this long is pinged before it is lent out; one used more recently is not
# (a ping is a round trip, and a grant checks out a connection for each of its transactions).
PING_AFTER_IDLE_SECONDS = 1.0
log = logging.getLogger(__name__)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and serialised writers."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    # Up to 20 connections, and those a peak opened stay open for the next one: an overflow connection is closed when
    # it is returned, so each peak opened them again, a new server process each (bench/RESULTS.md, day eleven).
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_use_lifo", True)  # the busiest connection again: the others may idle out, then pinged
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before lending it only when it sat idle `idle_seconds` or more, or when the server
    sent it something while it sat in the pool.

    A connection the server ended (a restart, a failover, an administrator) has the server's last words, or the end
    of its stream, waiting on its socket: looking is a system call, not a round trip, so every checkout looks, and
    such a connection is pinged, found dead and replaced before it is used, as `pool_pre_ping` would, and the rest
    of the pool with it (the server went away). A connection that died silently (a network path gone, a firewall's
    idle timeout) shows nothing; the ping after `idle_seconds` finds it. The window left, a silent death within
    `idle_seconds` of the last use, fails its first statement as a connection that dies mid-transaction does,
    with or without a ping, and that failure starts the pool over as well."""
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None:
            return  # new: it just connected
        idle = time.monotonic() - returned_at
        if idle < idle_seconds and not _server_spoke(dbapi_connection):
            return  # in use a moment ago, and nothing came from the server since
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise InvalidatePoolError(f"a pooled connection idle for {idle:.1f} s did not answer") from error


def _server_spoke(dbapi_connection: Any) -> bool:
    """Whether the socket of an idle connection has something to read (a message, an error, its end)."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None:
        return True  # cannot look: ping
    try:
        poller = select.poll()
        poller.register(fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed already
        return True


def normalise_url(url: str) -> str:
    """Accept the PostgreSQL URLs platforms hand out (`postgres://`, `postgresql://`) with the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_path(url: str) -> Path | None:
    """The absolute path of a SQLite database file (relative paths resolve against the working directory)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename: leave it to SQLite
        return None
    return Path(parsed.database).expanduser().absolute()


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit, deferred one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue instead of one failing mid-way,
        # which is what makes read-then-update claims and the audit hash chain safe on SQLite.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine, *, audit_key: Any = None) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them).

    `audit_key` (a bot.domain.audit.AuditKey) reaches the audit repository through `Session.info`.
    """
    from storage.repositories.audit import AUDIT_KEY

    return sessionmaker(engine, expire_on_commit=False, info={AUDIT_KEY: audit_key} if audit_key else None)


def alembic_config(engine: Engine) -> Config:
    """Programmatic alembic configuration bound to an engine (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent); one INFO line when it changed anything."""
    before = schema_revision(engine)
    if revision == "head" and before == SCHEMA_HEAD:
        return  # migrated already (the release step, the web's master): nothing to load
    from alembic import command

    log.debug("checking the database schema (alembic upgrade %s)", revision)
    command.upgrade(alembic_config(engine), revision)
    after = schema_revision(engine)
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "an empty database", after)


def schema_revision(engine: Engine) -> str | None:
    """The revision alembic recorded, read with one query and without loading alembic (None when the database was
    never migrated)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # a new database: no alembic_version table
        return None
    return found[0] if len(found) == 1 else None


def ping_or_raise(engine: Engine) -> None:
    """A trivial query; the driver's error when the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller reports 503
        return False
