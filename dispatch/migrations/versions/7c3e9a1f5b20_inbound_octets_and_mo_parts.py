"""inbound octets, unreadable receipts, stored MO parts

Receipts and MO keep the octets they were decoded from (a text column cannot hold NUL); a
receipt that could not be stored as read is kept as unreadable; the parts of concatenated MO
are stored as they come (mo_fragments) instead of in the smpp process's memory; the unmatched
receipts get a partial index for their purge after the receipt wait.

Revision ID: 7c3e9a1f5b20
Revises: 422274ae9627
Create Date: 2026-12-01 21:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import dispatch.models.common


# revision identifiers, used by Alembic.
revision = '7c3e9a1f5b20'
down_revision = '422274ae9627'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mo_fragments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('destination', sa.String(length=32), nullable=False),
    sa.Column('total', sa.SmallInteger(), nullable=False),
    sa.Column('number', sa.SmallInteger(), nullable=False),
    sa.Column('data_coding', sa.SmallInteger(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', dispatch.models.common.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_fragments'))
    )
    with op.batch_alter_table('mo_fragments', schema=None) as batch_op:
        batch_op.create_index('ix_mo_fragments_key', ['account_id', 'key'], unique=False)
        batch_op.create_index('ix_mo_fragments_received', ['account_id', 'received_at'],
                              unique=False)

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('data_coding', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('parts', sa.SmallInteger(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('parts_received', sa.SmallInteger(), nullable=False,
                                      server_default='1'))

    with op.batch_alter_table('raw_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('unreadable', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index('ix_raw_receipts_unmatched', ['account_id', 'received_at'],
                              unique=False, postgresql_where=sa.text('part_id IS NULL'),
                              sqlite_where=sa.text('part_id IS NULL'))


def downgrade():
    with op.batch_alter_table('raw_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_receipts_unmatched', postgresql_where=sa.text('part_id IS NULL'),
                            sqlite_where=sa.text('part_id IS NULL'))
        batch_op.drop_column('unreadable')
        batch_op.drop_column('payload')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('parts_received')
        batch_op.drop_column('parts')
        batch_op.drop_column('data_coding')
        batch_op.drop_column('payload')

    with op.batch_alter_table('mo_fragments', schema=None) as batch_op:
        batch_op.drop_index('ix_mo_fragments_received')
        batch_op.drop_index('ix_mo_fragments_key')

    op.drop_table('mo_fragments')
