"""On PostgreSQL, the inbox's notification names the schema whose table was written (`TG_TABLE_SCHEMA`). LISTEN
channels belong to the database, not to a schema: installations in other schemas of one database heard each
other's inserts, and their workers claimed in vain. A worker now wakes only for its own schema's rows (and for an
empty payload, what the trigger of an older revision sends while a deploy rolls). Only the trigger's function
changes; nothing changes on SQLite.

Revision ID: 0016
Revises: 0015
"""

from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _replace_function(NAMING_THE_SCHEMA)


def downgrade() -> None:
    _replace_function(AS_0015_MADE_IT)


# The inbox trigger's function: 0015's (only rows nobody holds are announced), with its payload.
NAMING_THE_SCHEMA = """
    CREATE OR REPLACE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM recorded WHERE lease_until IS NULL) THEN
            PERFORM pg_notify('pam_inbox', TG_TABLE_SCHEMA);
        END IF;
        RETURN NULL;
    END $$
"""
AS_0015_MADE_IT = NAMING_THE_SCHEMA.replace("TG_TABLE_SCHEMA", "''")


def _replace_function(definition: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(definition)
