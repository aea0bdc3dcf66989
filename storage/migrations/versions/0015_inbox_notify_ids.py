"""On PostgreSQL, the inbox's notification names the interactions it announces (`pam_inbox`, payload `12,13`), so
a worker can tell a job its own process recorded (and woke a thread for) from one another process recorded; a row
inserted already leased (handed to a worker thread of the process that recorded it) is announced to nobody.
Nothing changes on SQLite (one process).

Revision ID: 0015
Revises: 0014
"""

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS interactions_notify ON interactions")
    # Rows inserted with a lease were handed to a worker of the inserting process: nobody else needs to hear of
    # them. More than 100 rows in one insert: an empty payload (a NOTIFY payload stops at 8,000 bytes).
    op.execute("""
        CREATE OR REPLACE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            waiting bigint;
            ids text;
        BEGIN
            SELECT count(*), string_agg(id::text, ',') INTO waiting, ids FROM recorded WHERE lease_until IS NULL;
            IF waiting > 0 THEN
                PERFORM pg_notify('pam_inbox', CASE WHEN waiting > 100 THEN '' ELSE ids END);
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER interactions_notify AFTER INSERT ON interactions REFERENCING NEW TABLE AS recorded "
               "FOR EACH STATEMENT EXECUTE FUNCTION pam_inbox_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS interactions_notify ON interactions")
    op.execute("""
        CREATE OR REPLACE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pam_inbox', '');
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER interactions_notify AFTER INSERT ON interactions "
               "FOR EACH STATEMENT EXECUTE FUNCTION pam_inbox_notify()")
