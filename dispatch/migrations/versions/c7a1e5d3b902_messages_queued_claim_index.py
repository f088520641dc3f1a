"""messages: the index the smpp process claims from

SMS rows are no longer handed to the smpp process in RQ jobs: each account's runner claims its
`queued` rows from the ledger (`SELECT … FOR UPDATE SKIP LOCKED`, per campaign, oldest first).
A partial index over the queued rows only keeps that claim an index probe however large the
ledger grows.

Revision ID: c7a1e5d3b902
Revises: b4d2e8f61a37
Create Date: 2026-12-02 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a1e5d3b902'
down_revision = 'b4d2e8f61a37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_messages_queued_claim', 'messages', ['campaign_id', 'account_id', 'id'],
                    unique=False, postgresql_where=sa.text("status = 'queued'"),
                    sqlite_where=sa.text("status = 'queued'"))


def downgrade():
    op.drop_index('ix_messages_queued_claim', table_name='messages',
                  postgresql_where=sa.text("status = 'queued'"),
                  sqlite_where=sa.text("status = 'queued'"))
