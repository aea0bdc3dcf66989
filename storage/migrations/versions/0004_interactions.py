"""Durable work: the interactions the web path acknowledged, claimed by workers with an expiring lease.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 08:30:00
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'interactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('lease_until', UtcDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
    )
    op.create_index('ix_interactions_lease_until_id', 'interactions', ['lease_until', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_interactions_lease_until_id', table_name='interactions')
    op.drop_table('interactions')
