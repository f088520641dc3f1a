"""Frozen campaign audiences: campaign_members and campaigns.frozen_reach

Revision ID: 5b7e1f0a9c21
Revises: 5b7e0c1d9a44
Create Date: 2026-12-01 21:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b7e1f0a9c21'
down_revision = '5b7e0c1d9a44'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_members',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=4), nullable=False),
    sa.Column('recipient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('held', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_members_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'channel', 'recipient_id', name=op.f('pk_campaign_members'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frozen_reach', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('frozen_reach')

    op.drop_table('campaign_members')
