"""Per-session revocation: what revoking needs on the session row, the retry schedule, SourceIdentity.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 07:30:00
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_REVOKING = sa.text("status = 'revoking'")


def upgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_identity', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revocation_enabled', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('aws_user_id', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('source_identity', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('revoke_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('revoke_due_at', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoke_error', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('link_channel', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('link_ts', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_sessions_revoke_due', ['revoke_due_at'], unique=False,
                              postgresql_where=_REVOKING, sqlite_where=_REVOKING)
    # Sessions granted before this revision: revocation follows their account, as it did when they began.
    op.execute("UPDATE sessions SET revocation_enabled = (SELECT accounts.revocation_enabled FROM accounts "
               "WHERE accounts.id = sessions.account_id) WHERE account_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_revoke_due', postgresql_where=_REVOKING, sqlite_where=_REVOKING)
        for column in ('link_ts', 'link_channel', 'revoke_error', 'revoke_due_at', 'revoke_attempts',
                       'source_identity', 'aws_user_id', 'revocation_enabled'):
            batch_op.drop_column(column)
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('source_identity')
