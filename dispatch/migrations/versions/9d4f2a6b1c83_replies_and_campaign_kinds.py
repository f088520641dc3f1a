"""replies and their labels; campaign kinds (test, correction, ack) and reply settings

Campaigns gain `kind` (campaign | test | correction | ack) with `parent_id`, and what they ask
back (`reply_mode`, `survey`, `reply_days`, `reply_ack`). Every existing campaign is a
`campaign` that asks for nothing. `replies` holds what people write back, attributed to a
campaign where one asked; `reply_labels` the labels staff put on them, seeded with four.

Revision ID: 9d4f2a6b1c83
Revises: 002a671320e7
Create Date: 2026-12-02 14:40:00.000000

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9d4f2a6b1c83'
down_revision = '002a671320e7'
branch_labels = None
depends_on = None

LABELS = ("Góp ý văn kiện", "Phản ánh", "Hỏi đáp", "Khác")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    # On SQLite a batch would copy and drop the campaigns table, and dropping it cascades to
    # campaign_members: plain ALTERs keep every row where it is (as in e3b9c41d7a05).
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column('campaigns', sa.Column('kind', sa.String(length=12), server_default='campaign',
                                         nullable=False))
    if sqlite:
        op.execute("ALTER TABLE campaigns ADD COLUMN parent_id INTEGER CONSTRAINT "
                   "fk_campaigns_parent_id_campaigns REFERENCES campaigns (id)")
    else:
        op.add_column('campaigns', sa.Column('parent_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_campaigns_parent_id_campaigns'), 'campaigns',
                              'campaigns', ['parent_id'], ['id'])
    op.create_index(op.f('ix_campaigns_parent_id'), 'campaigns', ['parent_id'], unique=False)
    op.add_column('campaigns', sa.Column('reply_mode', sa.String(length=8), server_default='none',
                                         nullable=False))
    op.add_column('campaigns', sa.Column('survey', sa.JSON(), server_default=sa.text("'{}'"),
                                         nullable=False))
    op.add_column('campaigns', sa.Column('reply_days', sa.Integer(), server_default='7',
                                         nullable=False))
    op.add_column('campaigns', sa.Column('reply_ack', sa.Text(), nullable=True))

    labels = op.create_table(
        'reply_labels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_labels')),
        sa.UniqueConstraint('name', name=op.f('uq_reply_labels_name')),
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(labels, [{"name": n, "active": True, "created_at": now} for n in LABELS])

    op.create_table(
        'replies',
        sa.Column('id', BigId, nullable=False),
        sa.Column('channel', sa.String(length=4), nullable=False),
        sa.Column('inbound_id', BigId, nullable=True),
        sa.Column('device_id', BigId, nullable=True),
        sa.Column('msisdn', sa.String(length=16), nullable=True),
        sa.Column('contact_id', BigId, nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('operator', sa.String(length=16), nullable=True),
        sa.Column('locality_id', sa.Integer(), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('message_id', BigId, nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('text_folded', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('choice', sa.String(length=32), nullable=True),
        sa.Column('counted', sa.Boolean(), nullable=False),
        sa.Column('over_limit', sa.Boolean(), nullable=False),
        sa.Column('ack', sa.String(length=8), nullable=False),
        sa.Column('label_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('assigned_to_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_messages.id'], ondelete='SET NULL',
                                name=op.f('fk_replies_inbound_id_inbound_messages')),
        sa.ForeignKeyConstraint(['locality_id'], ['localities.id'],
                                name=op.f('fk_replies_locality_id_localities')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_replies_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['label_id'], ['reply_labels.id'],
                                name=op.f('fk_replies_label_id_reply_labels')),
        sa.ForeignKeyConstraint(['assigned_to_id'], ['users.id'],
                                name=op.f('fk_replies_assigned_to_id_users')),
        sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'],
                                name=op.f('fk_replies_handled_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replies')),
        sa.UniqueConstraint('inbound_id', name=op.f('uq_replies_inbound_id')),
    )
    op.create_index('ix_replies_campaign', 'replies', ['campaign_id', 'kind', 'received_at'])
    op.create_index('ix_replies_msisdn', 'replies', ['msisdn', 'received_at'])
    op.create_index('ix_replies_device', 'replies', ['device_id', 'campaign_id'])
    op.create_index('ix_replies_state', 'replies', ['state', 'received_at'])


def downgrade():
    op.drop_table('replies')
    op.drop_table('reply_labels')
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index(op.f('ix_campaigns_parent_id'), table_name='campaigns')
    if sqlite:
        # A copy of the table without the column (and its key): SQLite's own DROP COLUMN
        # refuses a column named in a table-level FOREIGN KEY, which is how the key reads once
        # a later revision has had the table copied (d2c8a6f41e57).
        with op.batch_alter_table('campaigns', recreate='always') as batch:
            batch.drop_column('parent_id')
    else:
        op.drop_constraint(op.f('fk_campaigns_parent_id_campaigns'), 'campaigns',
                           type_='foreignkey')
        op.drop_column('campaigns', 'parent_id')
    for column in ('reply_ack', 'reply_days', 'survey', 'reply_mode', 'kind'):
        op.drop_column('campaigns', column)
