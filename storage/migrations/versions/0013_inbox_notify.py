"""On PostgreSQL, a new interaction NOTIFYs the workers (channel `pam_inbox`), so a worker in another process
picks it up at once rather than at its next poll; nothing changes on SQLite (one process).

Revision ID: 0013
Revises: 0012
"""

from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("""
        CREATE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pam_inbox', '');
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER interactions_notify AFTER INSERT ON interactions "
               "FOR EACH STATEMENT EXECUTE FUNCTION pam_inbox_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS interactions_notify ON interactions")
    op.execute("DROP FUNCTION IF EXISTS pam_inbox_notify()")
