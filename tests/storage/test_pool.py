"""PostgreSQL's connection pool: a connection that sat idle is pinged and, if the server dropped it, replaced
before anyone uses it; one returned a moment ago is lent without that round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import storage.db
from storage.db import create_db_engine, normalise_url
from tests.e2e.tcp_proxy import TcpProxy


@pytest.fixture
def pool(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def pings_of(engine: Engine) -> list[int]:
    """Every ping the pool sends from now on (the dialect's own ping, counted as it goes)."""
    sent: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return sent


def backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def drop(database_url: str, pid: int) -> None:
    """The server ends that connection, as a restart, a failover or an idle timeout would, and its process is gone
    (`pg_terminate_backend` only signals it: on a busy machine it may not yet have written its last words)."""
    admin = create_engine(normalise_url(database_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # each statement its own transaction: pg_stat_activity read afresh
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        deadline = time.monotonic() + 10
        while connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}) \
                .scalar_one() and time.monotonic() < deadline:
            time.sleep(0.01)


def test_a_connection_returned_a_moment_ago_is_lent_without_a_ping(pool: Engine) -> None:
    first = backend_of(pool)
    sent = pings_of(pool)
    assert [backend_of(pool) for _ in range(5)] == [first] * 5  # the same connection: the pool lends the latest
    assert sent == []


def test_a_connection_dropped_while_idle_is_replaced_before_it_is_used(pool: Engine, database_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    idle = create_db_engine(database_url)  # every checkout counts as idle
    try:
        dropped = backend_of(idle)
        drop(database_url, dropped)
        sent = pings_of(idle)
        assert backend_of(idle) != dropped  # no error: the ping found it dead and the pool connected again
        assert sent == [1]
    finally:
        idle.dispose()


def test_a_connection_the_server_ended_just_after_its_use_is_replaced_before_it_is_used(
        pool: Engine, database_url: str) -> None:
    dropped = backend_of(pool)
    drop(database_url, dropped)  # the server says why and closes: that waits on the pooled connection's socket
    sent = pings_of(pool)
    assert backend_of(pool) != dropped  # no error, though it was returned a moment ago
    assert sent == [1]


def test_a_connection_that_died_silently_just_after_its_use_fails_once_and_the_pool_recovers(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window left: nothing on the socket says so, and the connection was used a moment ago."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        engine = create_db_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        try:
            first = backend_of(engine)
            monkeypatch.setattr(storage.db, "_server_spoke", lambda connection: False)  # as after a silent death
            proxy.cut()  # the connection is gone, and the check above cannot see it
            proxy.restore()
            with pytest.raises(OperationalError), engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            assert backend_of(engine) != first  # the failure started the pool over
        finally:
            engine.dispose()


def test_the_connections_a_peak_opened_stay_open_for_the_next_peak(pool: Engine) -> None:
    # A connection opened for a peak and closed when returned is opened again at the next peak: a new server
    # process each time, milliseconds of the server's CPU, on the path of the requests that peak brings (a web
    # process answers up to 16 at once and announces beside them). The most a process opens is unchanged.
    opened: list[int] = []
    event.listen(pool, "connect", lambda *_: opened.append(1))
    peak = 17  # a web process's threads and its announcer

    def one_peak() -> int:
        before = len(opened)
        lent = [pool.raw_connection() for _ in range(peak)]
        for connection in lent:
            connection.close()
        return len(opened) - before

    assert one_peak() == peak
    assert one_peak() == 0, "connections opened for the last peak were closed and opened again"


def test_a_process_opens_at_most_twenty_connections(database_url: str) -> None:
    # What an operator budgets against the server's max_connections, per process, as before.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connections")
    engine = create_db_engine(database_url, pool_timeout=0.2)
    lent = [engine.raw_connection() for _ in range(20)]
    try:
        with pytest.raises(sqlalchemy.exc.TimeoutError):
            engine.raw_connection()
    finally:
        for connection in lent:
            connection.close()
        engine.dispose()
