"""message_parts: no index of its own on message_id; pages filled to half (PostgreSQL)

`ix_message_parts_message_id` repeated the first column of the unique key (message_id,
part_no), which serves every lookup by message_id (the roll-up, the report's export, a
retry's delete, the cascade from messages): each part paid one index entry more for nothing.

A part is inserted by the outcome recorder and updated once by its receipt moments later;
the columns the receipt sets (status, error_code, receipt_at) are in no index, so with room on
the page the update is HOT: no new entry in any of the table's indexes. `fillfactor = 50`
leaves that room (PostgreSQL only; it applies to pages written from now on: the table's
existing pages stay as they are until rewritten).

Revision ID: d2f7a9c4e681
Revises: a4d8e2f61c37
Create Date: 2026-12-04 19:20:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f7a9c4e681'
down_revision = 'a4d8e2f61c37'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_message_parts_message_id', table_name='message_parts')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE message_parts SET (fillfactor = 50)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE message_parts RESET (fillfactor)')
    op.create_index('ix_message_parts_message_id', 'message_parts', ['message_id'],
                    unique=False)
