"""installation secrets

Each installation of the province app proves itself with a secret of its own, issued at
registration and stored hashed; installations registered before have no row here until they
claim one (dispatch.push.devices.claim).

Revision ID: b4d2e8f61a37
Revises: 5b7e1f0a9c21
Create Date: 2026-12-01 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import dispatch.models.common


# revision identifiers, used by Alembic.
revision = 'b4d2e8f61a37'
down_revision = '5b7e1f0a9c21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('installation_secrets',
    sa.Column('device_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', dispatch.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('returned_at', dispatch.models.common.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_installation_secrets_device_id_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_installation_secrets'))
    )


def downgrade():
    op.drop_table('installation_secrets')
