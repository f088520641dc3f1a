"""replies.inbound_id: no foreign key to inbound_messages (its cached check became a table scan)

A reply is written with its MO message, in the same transaction, with the id that message's
INSERT returned, and MO messages are never deleted, so the key guarded nothing. Its check is a
lookup of the message per reply, and PostgreSQL plans it once per connection and keeps the
plan until the table's statistics change: the smpp process's receipt writer planned it when
its first MO batch had put a single page in `inbound_messages`, so a sequential scan, and with
autovacuum off (or before autovacuum's first ANALYZE of a new database) it stayed one while the
table grew. Measured in `scripts/bench/mo_answers.py` with the SMSC's window of 100: 109 answers
per second at 60,000 stored, 1,287 per second after one `ANALYZE inbound_messages` in the same
run (docs/BENCHMARKS.md, "replies").

Revision ID: 7b3c9e1f4a26
Revises: 5e1d0c2b7a94
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '7b3c9e1f4a26'
down_revision = '5e1d0c2b7a94'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('replies') as batch:
        batch.drop_constraint('fk_replies_inbound_id_inbound_messages', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('replies') as batch:
        batch.create_foreign_key('fk_replies_inbound_id_inbound_messages', 'inbound_messages',
                                 ['inbound_id'], ['id'], ondelete='SET NULL')
