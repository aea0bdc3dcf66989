"""On PostgreSQL a worker hears of a job another process recorded at once (LISTEN/NOTIFY), not at its next poll."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.runtime.wakeups import CHANNEL, Wakeups, inbox_schema as wakeups_schema
from bot.runtime.worker import Worker
from bot.services.inbox import Inbox, Job
from sandbox.sql_statements import sent_statements
from storage.autocommit import Announcer, send_interaction
from storage.db import create_db_engine, make_sessionmaker, upgrade
from tests.conftest import _with_schema, postgres_url
from tests.e2e.helpers import wait_for

POLL = 120.0  # far longer than the test waits: only a wake-up can start the job in time


def web_process_inbox(database_url: str, clock: ManualClock) -> tuple[Engine, Inbox]:
    """An inbox on its own engine, as a separate web process has: its inserts wake nobody in this process."""
    engine = create_db_engine(database_url)
    return engine, Inbox(db=make_sessionmaker(engine), clock=clock)


def test_a_job_another_process_records_starts_without_waiting_for_the_poll(
        database_url: str, engine: Engine, db: sessionmaker[Session], clock: ManualClock) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("one process serves SQLite: its own inserts wake its worker")
    handled: list[Job] = []
    done = threading.Event()
    wakeups = Wakeups(engine.url)
    worker = Worker(Inbox(db=db, clock=clock), lambda job: (handled.append(job), done.set()), threads=1,
                    poll_seconds=POLL, wakeups=wakeups)
    worker.start()
    web_engine, web = web_process_inbox(database_url, clock)
    try:
        wait_for(wakeups.listening.is_set, "the worker to LISTEN")
        web.record("command", {"command": "/pam", "text": "help"})
        assert done.wait(10), "the job waited for the worker's poll"
        assert [job.kind for job in handled] == ["command"]
        # The connection is lost: the worker listens again once it is back, and catches up with what came meanwhile.
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE query LIKE 'LISTEN pam_inbox%' AND pid <> pg_backend_pid()"))
        wait_for(lambda: not wakeups.listening.is_set(), "the lost connection to be noticed")
        done.clear()
        web.record("command", {"command": "/pam", "text": "status"})
        assert done.wait(15), "the job recorded while the worker was not listening waited for its poll"
    finally:
        worker.stop()
        web_engine.dispose()


class CountingInbox(Inbox):
    """A real inbox that counts the claims made on it."""

    claims = 0

    def claim_and_look(self, limit: int = 1, exclude: Collection[int] = ()) -> tuple[list[Job], bool]:
        self.claims += 1
        return super().claim_and_look(limit, exclude)


def listening_worker(database_url: str, engine: Engine, inbox: Inbox, handle: Callable[[Job], None],
                     threads: int) -> Worker:
    """A started worker that, on PostgreSQL, listens for notifications, as in production; its threads all idle."""
    wakeups = Wakeups(engine.url) if database_url.startswith("postgresql") else None
    worker = Worker(inbox, handle, threads=threads, poll_seconds=POLL, wakeups=wakeups).start()
    if wakeups is not None:
        wait_for(wakeups.listening.is_set, "the worker to LISTEN")
    wait_for(lambda: getattr(inbox, "claims", threads) >= threads, "each thread's first look for work")
    time.sleep(0.2)  # every thread is waiting now
    return worker


def test_a_job_this_process_records_goes_to_an_idle_thread_without_a_claim(
        database_url: str, engine: Engine, db: sessionmaker[Session], clock: ManualClock) -> None:
    # `pam-bot serve`: the insert that records a click leases it to this process's idle thread; its notification
    # (PostgreSQL) then wakes nobody. Before, eight threads raced to claim each job, slowing the one that won.
    inbox = CountingInbox(db=db, clock=clock)
    handled: list[Job] = []
    worker = listening_worker(database_url, engine, inbox, handled.append, threads=8)
    announced: list[str] = []
    listener = listen(database_url, engine)
    try:
        before = inbox.claims
        for n in range(3):
            inbox.record("command", {"command": "/pam", "text": f"help {n}"})
            wait_for(lambda n=n: len(handled) == n + 1 and inbox.depth()[0] == 0, "the job to be handled")
        if listener is not None:
            announced += [n.payload for n in listener.notifies(timeout=0.3)]
        time.sleep(0.3)  # a notification that would wake a thread has come by now
        assert inbox.claims - before == 0, "a job this process recorded was claimed"
        assert [job.attempts for job in handled] == [1, 1, 1]
        assert announced == [], "a job handed over as it was recorded was announced to every worker"
    finally:
        worker.stop()
        if listener is not None:
            listener.close()


def listen(database_url: str, engine: Engine) -> psycopg.Connection[Any] | None:
    """A connection of its own that hears what the workers hear (PostgreSQL)."""
    if not database_url.startswith("postgresql"):
        return None
    connection = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                                 autocommit=True)
    connection.execute(f"LISTEN {CHANNEL}")
    return connection


def test_a_job_another_process_records_wakes_one_thread_not_all_of_them(
        database_url: str, engine: Engine, db: sessionmaker[Session], clock: ManualClock) -> None:
    inbox = CountingInbox(db=db, clock=clock)
    handled: list[Job] = []
    worker = listening_worker(database_url, engine, inbox, handled.append, threads=8)
    web_engine, web = web_process_inbox(database_url, clock)
    try:
        before = inbox.claims
        for n in range(3):
            web.record("command", {"command": "/pam", "text": f"help {n}"})
            if worker.wakeups is None:
                worker.wake()  # SQLite: one process only; the wake-up a notification would bring
            wait_for(lambda n=n: len(handled) == n + 1, "the job to be handled")
            time.sleep(0.2)
        assert inbox.claims - before == 3, "a job woke more than one thread"
    finally:
        worker.stop()
        web_engine.dispose()


def test_a_backlog_a_poll_finds_is_shared_between_the_threads(db: sessionmaker[Session], clock: ManualClock) -> None:
    # Recorded while nobody listened (another process, no wake-up): the thread that finds the first job wakes another.
    inbox = CountingInbox(db=db, clock=clock)
    everyone_in = threading.Barrier(4, timeout=10)
    worker = Worker(inbox, lambda job: everyone_in.wait(), threads=4, poll_seconds=POLL)
    worker.start()
    try:
        wait_for(lambda: inbox.claims >= 4, "each thread's first look for work")
        time.sleep(0.2)
        other_process = Inbox(db=db, clock=clock)  # its inserts wake nobody here
        for n in range(4):
            other_process.record("command", {"command": "/pam", "text": f"help {n}"})
        worker.wake()  # one notification (or one thread's poll) for the four
        wait_for(lambda: inbox.depth()[0] == 0, "the four jobs to be handled at once")
    finally:
        worker.stop()


@contextmanager
def neighbour_installation() -> Iterator[str]:
    """Another pam-bot's database: a migrated schema of its own in the same PostgreSQL database."""
    base = postgres_url()
    assert base is not None
    schema = f"pam_neighbour_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = _with_schema(base, schema)
        migrated = create_db_engine(url)
        upgrade(migrated)
        migrated.dispose()
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_a_worker_is_woken_only_by_its_own_installations_jobs(
        database_url: str, engine: Engine, db: sessionmaker[Session], clock: ManualClock) -> None:
    # LISTEN channels belong to the database: an installation in another schema of it notifies on the same one.
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no neighbours")
    inbox = CountingInbox(db=db, clock=clock)
    handled: list[Job] = []
    worker = listening_worker(database_url, engine, inbox, handled.append, threads=2)
    try:
        with neighbour_installation() as neighbour_url:
            their_engine, theirs = web_process_inbox(neighbour_url, clock)
            our_engine, ours = web_process_inbox(database_url, clock)
            try:
                before = inbox.claims
                for n in range(3):
                    theirs.record("command", {"command": "/pam", "text": f"help {n}"})
                time.sleep(0.5)  # their notifications have come by now
                assert inbox.claims == before, "another installation's jobs woke this worker"
                ours.record("command", {"command": "/pam", "text": "status"})
                wait_for(lambda: len(handled) == 1, "our own job to be handled")
                assert inbox.claims - before == 1
                assert theirs.depth()[0] == 3  # theirs wait for their own workers
            finally:
                their_engine.dispose()
                our_engine.dispose()
    finally:
        worker.stop()


def test_an_ack_s_commit_sends_no_notification_and_the_row_is_announced_after_it(
        database_url: str, engine: Engine, clock: ManualClock) -> None:
    # A transaction that NOTIFYs holds a lock, one for the whole server, from its commit until the commit is on
    # disk: with the notification inside the ack's insert (a trigger, before migration 0018), concurrent acks
    # committed one at a time. The ack's statement now commits alone; the process announces the row after it.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no other processes to wake")
    listener = listen(database_url, engine)
    assert listener is not None
    web_engine, web = web_process_inbox(database_url, clock)
    try:
        send_interaction(web_engine, "command", {"command": "/pam", "text": "help"}, clock())
        assert [n.payload for n in listener.notifies(timeout=0.5)] == [], "the ack's own commit sent a notification"
        recorded = web.record("command", {"command": "/pam", "text": "status"})
        heard = next(listener.notifies(timeout=10), None)
        assert heard is not None, "the recorded row was not announced"
        assert heard.payload == wakeups_schema(listener)
        with engine.connect() as connection:  # a worker woken by it finds the row
            assert connection.execute(text("SELECT count(*) FROM interactions WHERE id = :id"),
                                      {"id": recorded}).scalar_one() == 1
    finally:
        listener.close()
        web_engine.dispose()


def test_the_inbox_s_schema_is_looked_up_once_and_each_announcement_only_notifies(
        database_url: str, engine: Engine) -> None:
    # Looking the schema up in the catalogue, as every announcement did, cost the server about three times what the
    # NOTIFY itself does, once per announcement; the schema a process records into does not change while it runs.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no other processes to wake")
    sent: list[str] = []
    hooks = sent_statements(engine, sent.append, whole=True)
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    listener = listen(database_url, engine)
    assert listener is not None
    announce, schema = Announcer(engine), wakeups_schema(listener)
    try:
        for n in range(1, 4):
            announce()
            wait_for(lambda n=n: announce.rounds >= n, "the announcement to be sent")
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=3)]
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)
        listener.close()
    assert heard == [schema] * 3
    assert sum("pg_class" in statement for statement in sent) == 1, sent
    announcements = [statement for statement in sent if "NOTIFY" in statement]
    assert len(announcements) == 3 and all(a.startswith("BEGIN;") and "pg_class" not in a for a in announcements)


def test_an_announcement_that_cannot_be_sent_is_one_warning_and_the_next_one_is_tried(
        caplog: pytest.LogCaptureFixture) -> None:
    # The rows are committed before they are announced: a database that cannot be reached for the announcement
    # costs the workers of other processes their poll, and the web process one line, not one per request.
    unreachable = create_db_engine("postgresql+psycopg://pam@127.0.0.1:1/pam?connect_timeout=2")
    announce = Announcer(unreachable)
    try:
        with caplog.at_level(logging.INFO, logger="storage.autocommit"):
            for n in range(1, 4):
                announce()
                wait_for(lambda n=n: announce.rounds >= n, "the announcement to be tried")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, warnings
        assert "poll" in warnings[0] and "\n" not in warnings[0]
    finally:
        unreachable.dispose()


def test_an_announcement_that_finds_no_free_connection_is_one_warning_and_the_next_one_goes(
        database_url: str, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    # A web process whose pool is lent out to its request threads: the announcement waits its turn, then gives up
    # with one line (the workers' poll finds the rows) and is sent the next time, with no thread lost on the way.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no other processes to wake")
    small = create_db_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    announce = Announcer(small)
    listener = listen(database_url, engine)
    assert listener is not None
    try:
        with caplog.at_level(logging.INFO, logger="storage.autocommit"):
            held = small.raw_connection()  # every connection the pool has
            announce()
            wait_for(lambda: announce.rounds >= 1, "the announcement to be tried")
            held.close()
            announce()
            wait_for(lambda: announce.rounds >= 2, "the announcement to be tried again")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "TimeoutError" in warnings[0], warnings
        assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == [wakeups_schema(listener)]
    finally:
        listener.close()
        small.dispose()
