"""The migrations build exactly the models' schema, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import upgrade
from storage.models import Base, InstallationSetting


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert "sessions" in inspect(engine).get_table_names()


def test_sweep_indexes_exist(engine: Engine) -> None:
    names = {index["name"] for index in inspect(engine).get_indexes("sessions")}
    assert {"ix_sessions_due_warning", "ix_sessions_active_expiry"} <= names
    request_indexes = {index["name"] for index in inspect(engine).get_indexes("access_requests")}
    assert "ix_access_requests_status_created" in request_indexes


def test_timestamps_come_back_aware_and_in_utc(db: sessionmaker[Session]) -> None:
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.begin() as session:
        session.add(InstallationSetting(key="k", value="v", updated_at=moment))
    with db.begin() as session:
        row = session.get(InstallationSetting, "k")
        assert row is not None
        assert row.updated_at.tzinfo is not None
        assert row.updated_at == moment
        assert row.updated_at.astimezone(UTC).hour == 10


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_platform_postgres_urls_use_psycopg3() -> None:
    from storage.db import normalise_url

    assert normalise_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalise_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("sqlite:///pam.db") == "sqlite:///pam.db"


def test_upgrade_keeps_existing_accounts_open_and_closes_duplicate_open_requests(engine: Engine) -> None:
    """Accounts made before requester rules existed stay open to everyone (doctor warns where that auto-approves);
    open duplicates that slipped in before the one-open-request index keep only the oldest."""
    from alembic import command

    from storage.db import alembic_config

    command.downgrade(alembic_config(engine), "0001")
    try:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO resources (id, name, role_arn, description, created_by, created_at, updated_at) "
                "VALUES (1, 'prod', 'arn:aws:iam::123456789012:role/r', '', 'x', :now, :now)"), {"now": now})
            connection.execute(text(
                "INSERT INTO accounts (id, resource_id, name, role_arn, description, default_duration_seconds, "
                "approver_ids, approvals_required, auto_approve, require_reason, revocation_enabled, created_by, "
                "created_at, updated_at) VALUES (1, 1, 'ro', 'arn:aws:iam::123456789012:role/t', '', 3600, '[]', "
                "1, true, false, false, 'x', :now, :now)"), {"now": now})
            for ref in ("R-DUP001", "R-DUP002"):
                connection.execute(text(
                    "INSERT INTO access_requests (ref, requester_id, team_id, account_id, resource_name, "
                    "account_name, resource_role_arn, target_role_arn, duration_seconds, reason, status, "
                    "approvals_required, auto_approved, created_at, updated_at, grant_attempts, notice_failures, "
                    "cards) VALUES (:ref, 'U1', 'T1', 1, 'prod', 'ro', 'r', 't', 900, '', 'pending', 1, false, "
                    ":now, :now, 0, 0, '[]')"), {"ref": ref, "now": now})
    finally:
        upgrade(engine)
    with engine.connect() as connection:
        everyone, ids, group = connection.execute(
            text("SELECT requesters_everyone, requester_ids, requester_group FROM accounts")).one()
        statuses = dict(connection.execute(text("SELECT ref, status FROM access_requests")).all())
    assert bool(everyone) and ids in ([], "[]") and group is None
    assert statuses == {"R-DUP001": "pending", "R-DUP002": "cancelled"}


def test_the_schema_head_a_process_checks_without_alembic_is_alembics_head(engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    from storage.db import SCHEMA_HEAD, alembic_config, schema_revision

    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == SCHEMA_HEAD
    assert schema_revision(engine) == SCHEMA_HEAD  # the fixture's database is migrated
