"""messages: an index on the address, for attributing MO replies to what was sent to a number

Revision ID: 049bd89434ee
Revises: 49bc90a77936
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '049bd89434ee'
down_revision = '49bc90a77936'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_messages_address', 'messages', ['address', 'channel'], unique=False)


def downgrade():
    op.drop_index('ix_messages_address', table_name='messages')
