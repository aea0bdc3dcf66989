"""Named locks: on PostgreSQL one holder at a time across connections (so across replicas); SQLite holds nothing."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.locks import held
from tests.e2e.helpers import wait_for


def hold_in_thread(db: sessionmaker[Session], name: str, log: list[str], label: str) -> threading.Thread:
    def run() -> None:
        with held(db, name):
            log.append(f"{label} in")
            time.sleep(0.3)
            log.append(f"{label} out")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_same_name_waits_for_its_holder_and_another_name_does_not(db: sessionmaker[Session]) -> None:
    if db.kw["bind"].dialect.name != "postgresql":
        # SQLite: one process, nothing held, nothing to wait for
        with held(db, "role-a"), held(db, "role-a"), db.begin() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
        return
    log: list[str] = []
    first = hold_in_thread(db, "role-a", log, "first")
    wait_for(lambda: "first in" in log, "the first holder to take the lock", interval=0.01)
    other = hold_in_thread(db, "role-b", log, "other")
    second = hold_in_thread(db, "role-a", log, "second")
    for thread in (first, other, second):
        thread.join(timeout=10)
    assert log.index("other in") < log.index("first out")  # a different name runs alongside
    assert log.index("second in") > log.index("first out")  # the same name waits for the holder


def test_a_failing_block_releases_the_lock(db: sessionmaker[Session]) -> None:
    try:
        with held(db, "role-c"):
            raise RuntimeError("AWS said no")
    except RuntimeError:
        pass
    done = threading.Event()

    def take() -> None:
        with held(db, "role-c"):
            done.set()

    thread = threading.Thread(target=take)
    thread.start()
    assert done.wait(5)  # not left held by the failed block
    thread.join(timeout=5)
