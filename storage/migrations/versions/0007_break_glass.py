"""Break-glass: accounts that allow it, and the review of each break-glass grant.

Revision ID: 0007
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None

UNREVIEWED = "break_glass AND review IS NULL"


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('review', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', UtcDateTime(), nullable=True))
        batch_op.create_index('ix_access_requests_unreviewed', ['created_at'], unique=False,
                              postgresql_where=sa.text(UNREVIEWED), sqlite_where=sa.text(UNREVIEWED))


def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_access_requests_unreviewed')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('review')
        batch_op.drop_column('break_glass')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('break_glass')
