"""On PostgreSQL, the inbox's insert no longer NOTIFYs: the process that recorded a row announces it after the
insert has committed (storage/autocommit.py, `Announcer`). A transaction that has sent NOTIFY takes a lock that is one for the
whole server while it commits, until its commit record is on disk, so every ack's commit waited for every other
ack's flush: concurrent acks committed one at a time (bench/RESULTS.md, day ten). The announcement is now a
transaction of its own, committed without waiting for the disk, and one announces every row recorded while the last
was being sent. Nothing changes on SQLite (one process).

Revision ID: 0018
Revises: 0017
"""

from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS interactions_notify ON interactions")
    op.execute("DROP FUNCTION IF EXISTS pam_inbox_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("""
        CREATE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM recorded WHERE lease_until IS NULL) THEN
                PERFORM pg_notify('pam_inbox', TG_TABLE_SCHEMA);
            END IF;
            RETURN NULL;
        END $$
    """)  # as 0016 left it
    op.execute("CREATE TRIGGER interactions_notify AFTER INSERT ON interactions REFERENCING NEW TABLE AS recorded "
               "FOR EACH STATEMENT EXECUTE FUNCTION pam_inbox_notify()")
