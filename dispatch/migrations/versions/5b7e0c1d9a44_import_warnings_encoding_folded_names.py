"""import warnings and encoding; contacts' folded names for search

Revision ID: 5b7e0c1d9a44
Revises: 7c3e9a1f5b20
Create Date: 2026-12-01 21:30:00.000000

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b7e0c1d9a44'
down_revision = '7c3e9a1f5b20'
branch_labels = None
depends_on = None

BATCH = 5000


def _fold(name):
    """The search form of a name as of this revision (frozen here: later code may change)."""
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())[:200]


def upgrade():
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warning_rows', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('warnings', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('encoding', sa.String(length=32), nullable=True))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_folded', sa.String(length=200), nullable=True))

    conn = op.get_bind()
    contacts = sa.table('contacts', sa.column('id', sa.BigInteger()), sa.column('name'),
                        sa.column('name_folded'))
    imports = sa.table('contact_imports', sa.column('warnings', sa.JSON()))
    conn.execute(imports.update().values(warnings=[]))
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.alter_column('warnings', existing_type=sa.JSON(), nullable=False)
    last = 0
    while True:  # in batches of ids: a million contacts must not be held at once
        rows = conn.execute(sa.select(contacts.c.id, contacts.c.name)
                            .where(contacts.c.id > last, contacts.c.name.is_not(None))
                            .order_by(contacts.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(contacts.update().where(contacts.c.id == sa.bindparam('b_id'))
                     .values(name_folded=sa.bindparam('b_folded')),
                     [{'b_id': i, 'b_folded': _fold(name)} for i, name in rows])
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('name_folded')
    with op.batch_alter_table('contact_imports', schema=None) as batch_op:
        batch_op.drop_column('encoding')
        batch_op.drop_column('warnings')
        batch_op.drop_column('warning_rows')
