"""Initial schema: configuration, requests, decisions, sessions, audit trail.

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 01:58:02.628172
"""

from alembic import op
import sqlalchemy as sa

from storage.types import UtcDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admins',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_admins'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=256), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_actor_at', ['actor', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_table('installation_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_installation_settings'))
    )
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('role_arn', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('name', name=op.f('uq_resources_name'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('role_arn', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('default_duration_seconds', sa.Integer(), nullable=False),
    sa.Column('approver_ids', sa.JSON(), nullable=False),
    sa.Column('approver_group', sa.String(length=32), nullable=True),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('approval_channel', sa.String(length=32), nullable=True),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('auto_approve_daily_limit', sa.Integer(), nullable=True),
    sa.Column('require_reason', sa.Boolean(), nullable=False),
    sa.Column('revocation_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_accounts_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('resource_id', 'name', name='uq_accounts_resource_name')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_resource_id'), ['resource_id'], unique=False)

    op.create_table('access_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('requester_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('resource_name', sa.String(length=32), nullable=False),
    sa.Column('account_name', sa.String(length=32), nullable=False),
    sa.Column('resource_role_arn', sa.String(length=2048), nullable=False),
    sa.Column('target_role_arn', sa.String(length=2048), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('auto_approved', sa.Boolean(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.Column('decided_at', UtcDateTime(), nullable=True),
    sa.Column('reminded_at', UtcDateTime(), nullable=True),
    sa.Column('grant_attempts', sa.Integer(), nullable=False),
    sa.Column('notice_failures', sa.Integer(), nullable=False),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_access_requests_account_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_requests')),
    sa.UniqueConstraint('ref', name=op.f('uq_access_requests_ref'))
    )
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_requests_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_access_requests_requester', ['requester_id', 'status'], unique=False)
        batch_op.create_index('ix_access_requests_status_created', ['status', 'created_at'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('verdict', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_decisions_request_id_access_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('request_id', 'approver_id', name='uq_decisions_request_approver')
    )
    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('resource_name', sa.String(length=32), nullable=False),
    sa.Column('account_name', sa.String(length=32), nullable=False),
    sa.Column('resource_role_arn', sa.String(length=2048), nullable=False),
    sa.Column('target_role_arn', sa.String(length=2048), nullable=False),
    sa.Column('role_session_name', sa.String(length=64), nullable=False),
    sa.Column('assumed_role_arn', sa.String(length=2048), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', UtcDateTime(), nullable=False),
    sa.Column('expires_at', UtcDateTime(), nullable=False),
    sa.Column('warned_at', UtcDateTime(), nullable=True),
    sa.Column('ended_at', UtcDateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revocation_applied', sa.Boolean(), nullable=False),
    sa.Column('notice_failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sessions_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_sessions_request_id_access_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('ref', name=op.f('uq_sessions_ref')),
    sa.UniqueConstraint('request_id', name=op.f('uq_sessions_request_id'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_sessions_active_expiry', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.create_index('ix_sessions_due_warning', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'active' AND warned_at IS NULL"), sqlite_where=sa.text("status = 'active' AND warned_at IS NULL"))
        batch_op.create_index('ix_sessions_requester', ['requester_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_role_session_name'), ['role_session_name'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_role_session_name'))
        batch_op.drop_index('ix_sessions_requester')
        batch_op.drop_index('ix_sessions_due_warning', postgresql_where=sa.text("status = 'active' AND warned_at IS NULL"), sqlite_where=sa.text("status = 'active' AND warned_at IS NULL"))
        batch_op.drop_index('ix_sessions_active_expiry', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_sessions_account_id'))

    op.drop_table('sessions')
    op.drop_table('decisions')
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_access_requests_status_created')
        batch_op.drop_index('ix_access_requests_requester')
        batch_op.drop_index(batch_op.f('ix_access_requests_account_id'))

    op.drop_table('access_requests')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_resource_id'))

    op.drop_table('accounts')
    op.drop_table('resources')
    op.drop_table('installation_settings')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index('ix_audit_events_actor_at')

    op.drop_table('audit_events')
    op.drop_table('admins')
