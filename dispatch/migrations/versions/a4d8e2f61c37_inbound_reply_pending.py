"""inbound_messages.reply_pending: MO stored first, made replies on a second stage

The receipt writer answers the SMSC once an MO message is committed; its reply (attribution to
a campaign, the survey's count, the acknowledgement) is made after, by the smpp process's reply
attributor (dispatch.sms.attributor), which finds the messages left to do by this mark (a
partial index of the marked ones), also after a restart. Rows stored before this revision were attributed as they were stored.

Revision ID: a4d8e2f61c37
Revises: 7b3c9e1f4a26
Create Date: 2026-12-03 12:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4d8e2f61c37'
down_revision = '7b3c9e1f4a26'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbound_messages') as batch:
        batch.add_column(sa.Column('reply_pending', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index('ix_inbound_messages_reply_pending', 'inbound_messages',
                    ['id'], postgresql_where=sa.text('reply_pending'),
                    sqlite_where=sa.text('reply_pending'))


def downgrade():
    op.drop_index('ix_inbound_messages_reply_pending', table_name='inbound_messages')
    with op.batch_alter_table('inbound_messages') as batch:
        batch.drop_column('reply_pending')
