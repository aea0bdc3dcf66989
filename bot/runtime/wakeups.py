"""Cross-process wake-ups on PostgreSQL: a web process announces the rows it recorded once they are committed
(storage/autocommit.py `Announcer`, a NOTIFY of its own), and each worker LISTENs, so a job recorded by another
process starts at once instead of at the worker's next poll. A channel belongs to the whole database: the
notification names the inbox's schema, and a worker wakes only for its own.

Polling stays as the fallback: a lost connection only makes pickup as slow as the poll until it is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from storage.autocommit import CHANNEL, FIND_SCHEMA

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 5.0
STOP_CHECK_SECONDS = 0.1  # how long a wait for notifications lasts before the thread checks whether to stop


class Wakeups:
    """One thread with its own connection (outside the pool) that calls `wake` on every notification."""

    def __init__(self, url: URL, *, channel: str = CHANNEL) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while LISTEN is in place (tests wait for it)

    def start(self, wake: Callable[[], None]) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(wake,), name="pam-wakeups", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.listening.clear()

    def _run(self, wake: Callable[[], None]) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as connection:
                    mine = ("", inbox_schema(connection))  # "" from the trigger of a revision before 0016
                    connection.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    wake()  # anything recorded while not listening
                    while not self._stopping.is_set():
                        for note in connection.notifies(timeout=STOP_CHECK_SECONDS):
                            if note.payload in mine:
                                wake()
            except psycopg.Error as error:
                log.warning("worker wake-ups lost their database connection (%s); polling meanwhile",
                            type(error).__name__)
            self.listening.clear()
            self._stopping.wait(RECONNECT_SECONDS)


def inbox_schema(connection: psycopg.Connection[Any]) -> str:
    """The schema of the `interactions` table this connection's search path finds ("" when there is none yet)."""
    found = connection.execute(FIND_SCHEMA).fetchone()
    return str(found[0]) if found else ""
