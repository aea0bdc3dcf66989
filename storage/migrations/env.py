"""Alembic environment: runs migrations on the engine handed over by storage.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Run online migrations; the engine comes from storage.db.upgrade or sqlalchemy.url."""
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url", ""))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection
        assert driver is not None  # None only once the connection is closed
        if sqlite:
            # Batch migrations copy a table and drop the old one; with foreign keys on, that drop would cascade
            # (ON DELETE SET NULL / CASCADE) into the rows that point at it. The pragma only works outside a
            # transaction, so it goes to the driver's connection before SQLAlchemy begins one.
            driver.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            driver.execute("PRAGMA foreign_keys=ON")


run()
