"""Keyed audit chain: the scheme of each event, signed checkpoints of the head, a cursor per audit sink.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:30:00
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events written before this revision were chained with plain SHA-256: the default says so.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme', sa.String(length=16), nullable=False, server_default='sha256'))
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('head_id', sa.Integer(), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('scheme', sa.String(length=16), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    )
    op.create_table(
        'audit_sink_cursors',
        sa.Column('sink', sa.String(length=32), nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('last_checkpoint_id', sa.Integer(), nullable=False),
        sa.Column('shipped_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('sink', name=op.f('pk_audit_sink_cursors')),
    )


def downgrade() -> None:
    op.drop_table('audit_sink_cursors')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('scheme')
