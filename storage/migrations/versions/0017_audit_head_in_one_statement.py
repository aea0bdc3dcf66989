"""On PostgreSQL, appending to the audit chain takes the chain's lock and reads its head in one statement:
`pam_audit_head(key)` takes the advisory lock, then reads the last event. A function that is VOLATILE reads with a
fresh snapshot for each query it runs, so the head it reads is the one committed by whoever held the lock before;
a single SELECT that took the lock and read the table would read with the snapshot of its own start, and could
chain to a head that another append had already replaced. Nothing changes on SQLite, whose writers queue anyway.

Revision ID: 0017
Revises: 0016
"""

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE OR REPLACE FUNCTION pam_audit_head(lock_key bigint)
            RETURNS TABLE (id integer, hash text, scheme text) LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_key);
                RETURN QUERY SELECT e.id, e.hash::text, e.scheme::text FROM audit_events AS e
                    ORDER BY e.id DESC LIMIT 1;
            END $$
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS pam_audit_head(bigint)")
