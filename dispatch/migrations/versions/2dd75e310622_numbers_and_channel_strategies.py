"""who is behind a device, and channel strategies

Devices gain the number the app told (`msisdn`, indexed) and when it was verified; app keys
`verifies_numbers` (an admin's mark). Campaigns gain `strategy` (both, the behaviour so far, for
every existing campaign) and `fallback_minutes`; ledger rows `opened_at` (push) and `fallback`
(the SMS of a strategy's fallback step). Plain ALTERs on SQLite, as in 9d4f2a6b1c83.

Revision ID: 2dd75e310622
Revises: a7c6398bee72
Create Date: 2026-12-02 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '2dd75e310622'
down_revision = 'a7c6398bee72'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('devices', sa.Column('msisdn', sa.String(length=16), nullable=True))
    op.add_column('devices', sa.Column('msisdn_verified_at', sa.DateTime(timezone=True),
                                       nullable=True))
    op.create_index(op.f('ix_devices_msisdn'), 'devices', ['msisdn'], unique=False)
    op.add_column('app_keys', sa.Column('verifies_numbers', sa.Boolean(),
                                        server_default=sa.false(), nullable=False))
    op.add_column('campaigns', sa.Column('strategy', sa.String(length=16),
                                         server_default='both', nullable=False))
    op.add_column('campaigns', sa.Column('fallback_minutes', sa.Integer(), nullable=True))
    op.add_column('messages', sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('messages', sa.Column('fallback', sa.String(length=12), nullable=True))


def downgrade():
    # SQLite (3.35+) drops plain columns in place; a batch would copy the tables.
    for table, column in (('messages', 'fallback'), ('messages', 'opened_at'),
                          ('campaigns', 'fallback_minutes'), ('campaigns', 'strategy'),
                          ('app_keys', 'verifies_numbers'), ('devices', 'msisdn_verified_at')):
        op.drop_column(table, column)
    op.drop_index(op.f('ix_devices_msisdn'), table_name='devices')
    op.drop_column('devices', 'msisdn')
