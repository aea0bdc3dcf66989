"""Reminders that escalate: how many reminders a request has had, and where an account escalates to.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_to', sa.String(length=32), nullable=True))
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_sent', sa.Integer(), nullable=False, server_default='0'))
    # Requests reminded under the old one-reminder rule count as reminded once.
    op.execute("UPDATE access_requests SET reminders_sent = 1 WHERE reminded_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_column('reminders_sent')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('escalate_to')
