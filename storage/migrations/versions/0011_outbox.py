"""The Slack outbox: every message, update and Home publish the bot owes, delivered by workers with retries.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('ts', sa.String(length=32), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=160), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('report_to', sa.String(length=32), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('due_at', UtcDateTime(), nullable=False),
        sa.Column('lease_until', UtcDateTime(), nullable=True),
        sa.Column('sending_since', UtcDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('error_code', sa.String(length=64), nullable=True),
        sa.Column('done_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    )
    op.create_index('ix_deliveries_state_due_at', 'deliveries', ['state', 'due_at'], unique=False)
    op.create_index('ix_deliveries_dedupe_key', 'deliveries', ['dedupe_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_dedupe_key', table_name='deliveries')
    op.drop_index('ix_deliveries_state_due_at', table_name='deliveries')
    op.drop_table('deliveries')
