"""message_parts: no foreign key to messages, no index of its own on message_id; pages filled to
half (PostgreSQL)

The foreign key's check ran per part inserted, a `SELECT … FOR KEY SHARE` of its message: the
ledger row the recorder had just moved to `submitted` was locked and dirtied once more (WAL
included). A part is only written for a row its writer has just moved (the outcome recorder,
the push sender), and ledger rows are never deleted (retention pseudonymises them), so the key
guarded nothing; its ON DELETE CASCADE had nothing to cascade. message_texts lost its key for
the same reason (5e1d0c2b7a94).

`ix_message_parts_message_id` repeated the first column of the unique key (message_id,
part_no), which serves every lookup by message_id (the roll-up, the report's export, a
retry's delete): each part paid one index entry more for nothing.

A part is inserted by the outcome recorder and updated once by its receipt moments later;
the columns the receipt sets (status, error_code, receipt_at) are in no index, so with room on
the page the update is HOT: no new entry in any of the table's indexes. `fillfactor = 50`
leaves that room (PostgreSQL only; it applies to pages written from now on: the table's
existing pages stay as they are until rewritten).

Revision ID: d2f7a9c4e681
Revises: d2c8a6f41e57
Create Date: 2026-12-04 19:20:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f7a9c4e681'
down_revision = 'd2c8a6f41e57'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_message_parts_message_id', table_name='message_parts')
    with op.batch_alter_table('message_parts') as batch:
        batch.drop_constraint('fk_message_parts_message_id_messages', type_='foreignkey')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE message_parts SET (fillfactor = 50)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE message_parts RESET (fillfactor)')
    with op.batch_alter_table('message_parts') as batch:
        batch.create_foreign_key('fk_message_parts_message_id_messages', 'messages',
                                 ['message_id'], ['id'], ondelete='CASCADE')
    op.create_index('ix_message_parts_message_id', 'message_parts', ['message_id'],
                    unique=False)
