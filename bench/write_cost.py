"""What writing an approval costs pam-bot's own Python, by how the statements are built: the decision's INSERT and
the request's UPDATE (pending → approved) in one transaction, four ways.

    .venv/bin/python bench/write_cost.py [--db sqlite|postgresql] [--quick] [--runs R]

- the ORM: a flushed `Decision`, then an ORM `UPDATE … RETURNING` the `AccessRequest` (how pam-bot wrote them up to
  day five);
- Core statements built on every call;
- Core statements built once, their values as parameters (how `storage.repositories` writes them now: `_rows.add_row`
  and `_transition.transition`), with the loaded request given the row's values;
- the database driver alone, with the same SQL (the floor: the round trips and the server's work).

Each sample runs in its own transaction, rolled back, with the request read and locked first as an approval reads it;
only the two writes are timed. Works in a scratch schema of PostgreSQL ($PAM_BENCH_POSTGRES_URL, else the local test
database), or a SQLite file, dropped at the end. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness import database, machine
from load import table
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import RequestStatus
from storage.db import create_db_engine, make_sessionmaker, upgrade
from storage.models import AccessRequest, Decision
from storage.repositories import RequestRepository
from storage.repositories._rows import add_row

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REQUESTS, DECISIONS = AccessRequest.__table__, Decision.__table__
Write = Callable[[Session, AccessRequest], None]


def orm(session: Session, request: AccessRequest) -> None:
    session.add(Decision(request_id=request.id, approver_id="U2", team_id="T1", verdict="approve", reason="",
                         created_at=NOW))
    session.flush()
    session.scalars(update(AccessRequest).where(AccessRequest.id == request.id,
                                                AccessRequest.status == RequestStatus.PENDING)
                    .values(status=RequestStatus.APPROVED, decided_at=NOW, updated_at=NOW).returning(AccessRequest),
                    execution_options={"synchronize_session": False, "populate_existing": True}).one()


def core_each_call(session: Session, request: AccessRequest) -> None:
    connection = session.connection()
    connection.execute(insert(DECISIONS).values(request_id=request.id, approver_id="U2", team_id="T1",
                                                verdict="approve", reason="", created_at=NOW)
                       .returning(DECISIONS.c.id)).scalar_one()
    connection.execute(update(REQUESTS).where(REQUESTS.c.id == request.id, REQUESTS.c.status == RequestStatus.PENDING)
                       .values(status=RequestStatus.APPROVED, decided_at=NOW, updated_at=NOW)
                       .returning(*REQUESTS.c)).one()


def prebuilt(session: Session, request: AccessRequest) -> None:
    add_row(session, Decision(request_id=request.id, approver_id="U2", team_id="T1", verdict="approve", reason="",
                              created_at=NOW))
    RequestRepository(session).transition(request.id, RequestStatus.PENDING, RequestStatus.APPROVED, decided_at=NOW,
                                          updated_at=NOW)


def driver(session: Session, request: AccessRequest) -> None:
    """The same two statements through psycopg's cursor (PostgreSQL only)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("INSERT INTO decisions (request_id, approver_id, team_id, verdict, reason, created_at) "
                   "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id", (request.id, "U2", "T1", "approve", "", NOW))
    cursor.fetchone()
    cursor.execute("UPDATE access_requests SET status = %s, decided_at = %s, updated_at = %s "
                   "WHERE id = %s AND status = %s RETURNING *", ("approved", NOW, NOW, request.id, "pending"))
    cursor.fetchone()


WAYS: dict[str, Write] = {"the ORM (flush, ORM UPDATE … RETURNING the entity)": orm,
                          "Core, built on every call": core_each_call,
                          "Core, built once (pam-bot's repositories)": prebuilt,
                          "the driver alone (the floor)": driver}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run, not for figures)")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of every way")
    args = parser.parse_args()
    samples = 20 if args.quick else 300
    with tempfile.TemporaryDirectory() as tmp, database(args.db, Path(tmp)) as url:
        engine = create_db_engine(url)
        upgrade(engine)
        db = make_sessionmaker(engine)
        with db.begin() as session:
            session.add(AccessRequest(
                ref="R-BENCH1", requester_id="U1", team_id="T1", resource_name="prod", account_name="ro",
                resource_role_arn="arn:aws:iam::111111111111:role/r",
                target_role_arn="arn:aws:iam::111111111111:role/t", duration_seconds=1800, reason="",
                status=RequestStatus.PENDING, created_at=NOW, updated_at=NOW, cards=[]))
        ways = {name: write for name, write in WAYS.items() if write is not driver or args.db == "postgresql"}
        medians: dict[str, list[float]] = {name: [] for name in ways}
        try:
            for _ in range(args.runs):
                for name, write in ways.items():
                    medians[name].append(statistics.median(timed(db, write, samples)))
        finally:
            engine.dispose()
    base = statistics.median(next(reversed(medians.values())))  # the driver alone, or on SQLite the prebuilt Core
    print(f"\nAn approval's two writes (the decision's INSERT, the request's UPDATE), {args.db}; {machine()}")
    print(f"median of {samples} transactions per run, {args.runs} alternating runs (min / median / max of the runs); "
          f"ratio against the last row\n")
    print(table(["written with", "ms", "ratio"], [
        [name, " / ".join(f"{m * 1000:.2f}" for m in (min(runs), statistics.median(runs), max(runs))),
         f"{statistics.median(runs) / base:.2f}"] for name, runs in medians.items()]))


def timed(db: sessionmaker[Session], write: Write, samples: int) -> list[float]:
    seconds = []
    for _ in range(samples):
        with db() as session:
            session.begin()
            request = session.scalars(select(AccessRequest).where(AccessRequest.ref == "R-BENCH1")
                                      .with_for_update()).one()
            started = time.perf_counter()
            write(session, request)
            seconds.append(time.perf_counter() - started)
            session.rollback()  # the next sample finds the request pending again
    return seconds


if __name__ == "__main__":
    main()
