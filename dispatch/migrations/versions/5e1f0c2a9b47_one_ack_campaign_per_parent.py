"""campaigns: at most one acknowledgement campaign per parent (a partial unique index)

Revision ID: 5e1f0c2a9b47
Revises: 049bd89434ee
Create Date: 2026-12-02 18:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5e1f0c2a9b47'
down_revision = '049bd89434ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('uq_campaigns_one_ack', 'campaigns', ['parent_id'], unique=True,
                    postgresql_where=sa.text("kind = 'ack'"),
                    sqlite_where=sa.text("kind = 'ack'"))


def downgrade():
    op.drop_index('uq_campaigns_one_ack', table_name='campaigns')
