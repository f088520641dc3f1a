"""plans and their phases; campaigns belong to a phase instead of a free phase tag

Every phase tag (the suggested ones in phase_tags and any other a campaign used) becomes a
phase of one plan, and each campaign points to the phase of its tag. The three tags seeded for
the congress plan become its three phases, named as the plan names them. A campaign's frozen
snapshot names its phase by id from now on: snapshots are rewritten and their hashes
recomputed, so a submitted or approved campaign stays approvable and launchable.

Revision ID: e3b9c41d7a05
Revises: c7a1e5d3b902
Create Date: 2026-12-02 05:20:00.000000

"""
import hashlib
import json
from datetime import date

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3b9c41d7a05'
down_revision = 'c7a1e5d3b902'
branch_labels = None
depends_on = None

PLAN_TITLE = ("Kế hoạch truyền thông Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XV, "
              "nhiệm kỳ 2025 - 2030")
OTHER_TITLE = "Kế hoạch chuyển từ các nhãn giai đoạn"
# The tags seeded before this revision, as the plan names its phases (frozen here).
KNOWN = {
    "truoc-dai-hoi": ("Đợt 1: Trước Đại hội", date(2024, 9, 1), date(2025, 6, 30)),
    "trong-dai-hoi": ("Đợt 2: Trong thời gian diễn ra Đại hội", None, None),
    "sau-dai-hoi": ("Đợt 3: Sau khi kết thúc Đại hội", None, None),
}

plans = sa.table('plans', sa.column('id', sa.Integer()), sa.column('reference', sa.String()),
                 sa.column('title', sa.String()), sa.column('starts_on', sa.Date()),
                 sa.column('ends_on', sa.Date()), sa.column('description', sa.Text()),
                 sa.column('created_at', sa.DateTime(timezone=True)),
                 sa.column('updated_at', sa.DateTime(timezone=True)))
phases = sa.table('plan_phases', sa.column('id', sa.Integer()),
                  sa.column('plan_id', sa.Integer()), sa.column('name', sa.String()),
                  sa.column('starts_on', sa.Date()), sa.column('ends_on', sa.Date()),
                  sa.column('purpose', sa.Text()))
tags = sa.table('phase_tags', sa.column('id', sa.Integer()), sa.column('name', sa.String()),
                sa.column('description', sa.Text()))


def _hash(value):
    """dispatch.campaigns.audit.content_hash as of this revision."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                     default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _campaigns(column):
    return sa.table('campaigns', sa.column('id', sa.Integer()), sa.column(column),
                    sa.column('snapshot', sa.JSON()), sa.column('snapshot_hash', sa.String()))


def _rewrite_snapshots(conn, campaigns, old_key, new_key, mapping):
    rows = conn.execute(sa.select(campaigns.c.id, campaigns.c.snapshot)
                        .where(campaigns.c.snapshot.is_not(None))).all()
    for cid, snap in rows:
        if isinstance(snap, str):
            snap = json.loads(snap)
        if not isinstance(snap, dict) or old_key not in snap:
            continue
        value = snap.pop(old_key)
        snap[new_key] = mapping.get(value)
        conn.execute(campaigns.update().where(campaigns.c.id == cid)
                     .values(snapshot=snap, snapshot_hash=_hash(snap)))


def upgrade():
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    op.create_table('plan_phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_phases_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_phases'))
    )
    with op.batch_alter_table('plan_phases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_phases_plan_id'), ['plan_id'], unique=False)

    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    # On SQLite a batch would copy and drop the campaigns table, and dropping it cascades to
    # campaign_members: plain ALTERs keep every row where it is.
    if sqlite:
        op.execute("ALTER TABLE campaigns ADD COLUMN phase_id INTEGER CONSTRAINT "
                   "fk_campaigns_phase_id_plan_phases REFERENCES plan_phases (id)")
    else:
        op.add_column('campaigns', sa.Column('phase_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_campaigns_phase_id_plan_phases'), 'campaigns',
                              'plan_phases', ['phase_id'], ['id'])
    op.create_index(op.f('ix_campaigns_phase_id'), 'campaigns', ['phase_id'], unique=False)

    campaigns = _campaigns('phase_tag')
    described = {name: description or "" for _, name, description in conn.execute(
        sa.select(tags.c.id, tags.c.name, tags.c.description).order_by(tags.c.id))}
    used = [t for (t,) in conn.execute(
        sa.select(campaigns.c.phase_tag).where(campaigns.c.phase_tag.is_not(None))
        .distinct().order_by(campaigns.c.phase_tag)) if t not in described]
    mapping = {}
    if described or used:
        known = [t for t in KNOWN if t in described or t in used]
        now = sa.func.current_timestamp()
        plan_id = conn.execute(plans.insert().values(
            reference=None, title=PLAN_TITLE if known else OTHER_TITLE,
            starts_on=date(2024, 9, 1) if known else None, ends_on=None,
            description=("Chuyển từ các nhãn giai đoạn khi Loa có kế hoạch và các đợt. "
                         "Hãy bổ sung số, ký hiệu và thời gian của kế hoạch, các đợt."),
            created_at=now, updated_at=now).returning(plans.c.id)).scalar_one()
        for tag in [*known, *(t for t in [*described, *used] if t not in KNOWN)]:
            name, starts, ends = KNOWN.get(tag, (tag, None, None))
            purpose = described.get(tag, "")
            if tag in KNOWN:
                purpose = ""  # the seeded descriptions were English glosses of the name
            mapping[tag] = conn.execute(phases.insert().values(
                plan_id=plan_id, name=name[:200], starts_on=starts, ends_on=ends,
                purpose=purpose).returning(phases.c.id)).scalar_one()
        for tag, phase_id in mapping.items():
            conn.execute(sa.text("UPDATE campaigns SET phase_id = :p WHERE phase_tag = :t"),
                         {"p": phase_id, "t": tag})
    _rewrite_snapshots(conn, campaigns, "phase_tag", "phase_id", mapping)

    op.drop_index('ix_campaigns_phase_tag', table_name='campaigns')
    if sqlite:
        op.execute("ALTER TABLE campaigns DROP COLUMN phase_tag")
    else:
        op.drop_column('campaigns', 'phase_tag')
    op.drop_table('phase_tags')


def downgrade():
    op.create_table('phase_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_phase_tags_name'))
    )
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    op.add_column('campaigns', sa.Column('phase_tag', sa.String(length=40), nullable=True))
    op.create_index('ix_campaigns_phase_tag', 'campaigns', ['phase_tag'], unique=False)
    names = {name: tag for tag, (name, _, _) in KNOWN.items()}
    mapping, seen = {}, set()
    for pid, name, purpose in conn.execute(
            sa.select(phases.c.id, phases.c.name, phases.c.purpose).order_by(phases.c.id)):
        tag = names.get(name, name[:40])
        mapping[pid] = tag
        if tag not in seen:
            seen.add(tag)
            conn.execute(tags.insert().values(name=tag, description=purpose or ""))
        conn.execute(sa.text("UPDATE campaigns SET phase_tag = :t WHERE phase_id = :p"),
                     {"t": tag, "p": pid})
    _rewrite_snapshots(conn, _campaigns('phase_id'), "phase_id", "phase_tag", mapping)
    op.drop_index(op.f('ix_campaigns_phase_id'), table_name='campaigns')
    if sqlite:
        # As in 9d4f2a6b1c83: a copy of the table without the column and its key.
        with op.batch_alter_table('campaigns', recreate='always') as batch:
            batch.drop_column('phase_id')
    else:
        op.drop_constraint(op.f('fk_campaigns_phase_id_plan_phases'), 'campaigns',
                           type_='foreignkey')
        op.drop_column('campaigns', 'phase_id')
    with op.batch_alter_table('plan_phases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_phases_plan_id'))
    op.drop_table('plan_phases')
    op.drop_table('plans')
