"""Shared fixtures: every storage-touching test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.logs import QUIET_LIBRARIES
from storage.db import create_db_engine, make_sessionmaker, upgrade
from storage.models import Base

pytest_plugins = ["tests.fixtures_slack", "tests.fixtures_aws", "tests.fixtures_bot", "tests.e2e.deploy_fixtures"]

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """The PostgreSQL URL to test on; required (never skipped) when PAM_TEST_POSTGRES_URL is set."""
    configured = os.environ.get("PAM_TEST_POSTGRES_URL")
    url = configured or DEFAULT_POSTGRES
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return url
    except Exception:
        if configured:
            raise
        return None
    finally:
        engine.dispose()


def _with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per backend for the whole run (PostgreSQL in a schema of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'pam.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL is not reachable (set PAM_TEST_POSTGRES_URL to require it)")
    schema = f"pam_test_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = _with_schema(base, schema)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a clean database (every table emptied before the test)."""
    engine = create_db_engine(database_url)
    truncate(engine)
    yield engine
    engine.dispose()


def truncate(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long load and soak tests run when PAM_RUN_SLOW=1 (CI sets it); `make test` locally stays quick."""
    if os.environ.get("PAM_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set PAM_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Code under test may run configure_logging (the CLI does): its handler would outlive the test and write
    to a stream pytest has closed. Every test leaves the root logger and the quietened libraries as it found them."""
    root = logging.getLogger()
    names = (*QUIET_LIBRARIES, "alembic.runtime.plugins")
    saved = (list(root.handlers), root.level, {name: logging.getLogger(name).level for name in names})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def log_buffer() -> io.StringIO:
    """A buffer for tests that run configure_logging for real and point its handler here."""
    return io.StringIO()
