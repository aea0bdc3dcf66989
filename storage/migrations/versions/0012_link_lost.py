"""Sessions remember when their console link's DM was given up on (a "Get a new link" button offered instead).

Sessions granted before this revision count as settled: their links were sent (or given up on) by the release that
granted them, and nobody should be offered a new link for them now.

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

UNSETTLED = "status = 'active' AND link_ts IS NULL AND link_lost_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_lost_at', UtcDateTime(), nullable=True))
    op.execute("UPDATE sessions SET link_lost_at = started_at WHERE link_ts IS NULL")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_link_unsettled', ['started_at'], unique=False,
                              postgresql_where=sa.text(UNSETTLED), sqlite_where=sa.text(UNSETTLED))


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_link_unsettled', postgresql_where=sa.text(UNSETTLED),
                            sqlite_where=sa.text(UNSETTLED))
        batch_op.drop_column('link_lost_at')
