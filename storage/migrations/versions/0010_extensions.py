"""Extensions: how many an account allows and whether they need approval again; the chain of sessions.

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_extensions', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('extend_without_approval', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extends', sa.String(length=16), nullable=True))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('continues', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('extension', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('extension')
        batch_op.drop_column('continues')
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_column('extends')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('extend_without_approval')
        batch_op.drop_column('max_extensions')
