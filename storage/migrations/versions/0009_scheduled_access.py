"""Scheduled access: when an approved request is to be granted.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SCHEDULED = "status = 'approved' AND starts_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_at', UtcDateTime(), nullable=True))
        batch_op.create_index('ix_access_requests_scheduled', ['starts_at'], unique=False,
                              postgresql_where=sa.text(SCHEDULED), sqlite_where=sa.text(SCHEDULED))


def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_access_requests_scheduled')
        batch_op.drop_column('starts_at')
