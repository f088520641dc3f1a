"""message_texts: the exact text each recipient of a personalised campaign was sent

Revision ID: 49bc90a77936
Revises: 295c205b1fd6
Create Date: 2026-12-02 15:35:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '49bc90a77936'
down_revision = '295c205b1fd6'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'message_texts',
        sa.Column('message_id', BigId, nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_message_texts_message_id_messages'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_texts')),
    )


def downgrade():
    op.drop_table('message_texts')
