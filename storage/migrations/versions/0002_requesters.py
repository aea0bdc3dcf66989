"""Requester eligibility per account; one open request per person and account, enforced by the database.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPEN_REQUEST = "status IN ('pending', 'approved')"


def upgrade() -> None:
    # Plain ADD COLUMNs with server defaults: on SQLite, altering a column would copy the table, and dropping the
    # old `accounts` would set every request's and session's account_id to NULL (ON DELETE SET NULL).
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requesters_everyone', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('requester_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('requester_group', sa.String(length=32), nullable=True))
    # Existing accounts keep working as they did: open to everyone (doctor points out the auto-approving ones).
    op.execute("UPDATE accounts SET requesters_everyone = true")
    # Duplicates that slipped in before the index existed: keep the oldest open request, cancel the others.
    op.execute(
        "UPDATE access_requests SET status = 'cancelled', failure_code = 'duplicate', "  # noqa: S608 - constants
        "failure_message = 'a duplicate of an earlier open request' "
        f"WHERE {OPEN_REQUEST} AND account_id IS NOT NULL AND id NOT IN ("
        f"SELECT MIN(id) FROM access_requests WHERE {OPEN_REQUEST} AND account_id IS NOT NULL "
        "GROUP BY requester_id, account_id)")
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index('uq_access_requests_open', ['requester_id', 'account_id'], unique=True,
                              postgresql_where=sa.text(OPEN_REQUEST), sqlite_where=sa.text(OPEN_REQUEST))


def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_access_requests_open')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('requester_group')
        batch_op.drop_column('requester_ids')
        batch_op.drop_column('requesters_everyone')
