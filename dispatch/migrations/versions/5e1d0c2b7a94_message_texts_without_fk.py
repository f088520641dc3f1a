"""message_texts: no foreign key to messages (its check locked and dirtied every ledger row again)

A text is written only with its ledger row, in the same statement's transaction, and ledger rows
are never deleted (retention pseudonymises them), so the key guarded nothing; its check, a
`SELECT … FOR KEY SHARE` of the message per text, cost PostgreSQL three times the insert itself
(2.4–3.1 s against 0.75 s per 100,000 texts, measured on the benchmark machine).

Revision ID: 5e1d0c2b7a94
Revises: 5e1f0a7c3b21
Create Date: 2026-12-02 18:20:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e1d0c2b7a94'
down_revision = '5e1f0a7c3b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message_texts') as batch:
        batch.drop_constraint('fk_message_texts_message_id_messages', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('message_texts') as batch:
        batch.create_foreign_key('fk_message_texts_message_id_messages', 'messages',
                                 ['message_id'], ['id'], ondelete='CASCADE')
