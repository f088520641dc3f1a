"""smpp_accounts.pacing: how the account's throttle paces submits

`per_second` (the rate held in every one-second window, as before) or `spacing` (no two submits
closer than 1/TPS, for SMSCs that police a minimum interval, like Jasmin).

Revision ID: 295c205b1fd6
Revises: 2dd75e310622
Create Date: 2026-12-02 14:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '295c205b1fd6'
down_revision = '2dd75e310622'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('smpp_accounts') as batch:
        batch.add_column(sa.Column('pacing', sa.String(length=12), nullable=False,
                                   server_default='per_second'))


def downgrade():
    with op.batch_alter_table('smpp_accounts') as batch:
        batch.drop_column('pacing')
