"""webhooks: receivers, the event outbox, deliveries and their attempts

Revision ID: a7c6398bee72
Revises: 9d4f2a6b1c83
Create Date: 2026-12-02 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c6398bee72'
down_revision = '9d4f2a6b1c83'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('disabled_at', When, nullable=True),
        sa.Column('failing_since', When, nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('paused_until', When, nullable=True),
        sa.Column('last_success_at', When, nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_webhooks_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    op.create_table(
        'hook_events',
        sa.Column('id', BigId, nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('occurred_at', When, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_events')),
    )
    op.create_table(
        'hook_deliveries',
        sa.Column('id', BigId, nullable=False),
        sa.Column('hook_id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=32), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', When, nullable=False),
        sa.Column('claimed_until', When, nullable=True),
        sa.Column('enqueued_at', When, nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('finished_at', When, nullable=True),
        sa.ForeignKeyConstraint(['hook_id'], ['webhooks.id'], ondelete='CASCADE',
                                name=op.f('fk_hook_deliveries_hook_id_webhooks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_deliveries')),
        sa.UniqueConstraint('uid', name=op.f('uq_hook_deliveries_uid')),
    )
    op.create_index('ix_hook_deliveries_due', 'hook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_hook_deliveries_hook', 'hook_deliveries', ['hook_id', 'id'])
    op.create_table(
        'hook_attempts',
        sa.Column('id', BigId, nullable=False),
        sa.Column('delivery_id', BigId, nullable=False),
        sa.Column('hook_id', sa.Integer(), nullable=False),
        sa.Column('at', When, nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', When, nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['hook_deliveries.id'], ondelete='CASCADE',
                                name=op.f('fk_hook_attempts_delivery_id_hook_deliveries')),
        sa.ForeignKeyConstraint(['hook_id'], ['webhooks.id'], ondelete='CASCADE',
                                name=op.f('fk_hook_attempts_hook_id_webhooks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_attempts')),
    )
    op.create_index(op.f('ix_hook_attempts_delivery_id'), 'hook_attempts', ['delivery_id'])
    op.create_index('ix_hook_attempts_hook', 'hook_attempts', ['hook_id', 'at'])


def downgrade():
    op.drop_table('hook_attempts')
    op.drop_table('hook_deliveries')
    op.drop_table('hook_events')
    op.drop_table('webhooks')
