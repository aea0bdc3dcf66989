"""On PostgreSQL, the inbox's notification names the interactions it announces (`pam_inbox`, payload `12,13`), so
a worker can tell a job its own process recorded, and already took, from one another process recorded; nothing
changes on SQLite (one process).

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
    # More than 100 rows in one insert: an empty payload (a NOTIFY payload stops at 8,000 bytes); the web inserts one.
    op.execute("""
        CREATE OR REPLACE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pam_inbox', (SELECT CASE WHEN count(*) > 100 THEN ''
                                                     ELSE coalesce(string_agg(id::text, ','), '') END
                                              FROM recorded));
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
