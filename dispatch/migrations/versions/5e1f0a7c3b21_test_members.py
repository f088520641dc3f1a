"""test_members: the test list a draft is sent to before approval

Revision ID: 5e1f0a7c3b21
Revises: 5e1f0c2a9b47
Create Date: 2026-12-02 18:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e1f0a7c3b21'
down_revision = '5e1f0c2a9b47'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'test_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('msisdn', sa.String(length=16), nullable=True),
        sa.Column('operator', sa.String(length=16), nullable=True),
        sa.Column('installation_id', sa.String(length=128), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_test_members_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_test_members')),
        sa.UniqueConstraint('installation_id', name=op.f('uq_test_members_installation_id')),
        sa.UniqueConstraint('msisdn', name=op.f('uq_test_members_msisdn')),
    )


def downgrade():
    op.drop_table('test_members')
