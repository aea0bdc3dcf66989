"""The outbox's indexes cover only rows still queued: a claim walks them in due order and asks, per candidate, whether
an older row of its key is still queued, both through small partial indexes. Before, every claim sorted every queued
row and checked each against all of them, so a claim slowed as the queue grew (50 ms with 1,500 queued).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

QUEUED = "state = 'queued'"


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_state_due_at')
        batch_op.drop_index('ix_deliveries_dedupe_key')
        batch_op.create_index('ix_deliveries_queued_due', ['due_at', 'id'], unique=False,
                              postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))
        batch_op.create_index('ix_deliveries_queued_key', ['dedupe_key', 'id'], unique=False,
                              postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_queued_key', postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))
        batch_op.drop_index('ix_deliveries_queued_due', postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))
        batch_op.create_index('ix_deliveries_dedupe_key', ['dedupe_key'], unique=False)
        batch_op.create_index('ix_deliveries_state_due_at', ['state', 'due_at'], unique=False)
