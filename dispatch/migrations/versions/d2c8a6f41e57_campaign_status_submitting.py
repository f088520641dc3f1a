"""campaigns.status 'submitting': the audience is frozen by a job after the submission

A submission freezes the content in the request and the audience in a job
(dispatch.campaigns.submission), which can take minutes; meanwhile the campaign is
`submitting`. The downgrade returns such campaigns to draft (their submission voided: the
old code froze in the request and knows no half-submitted state).

Revision ID: d2c8a6f41e57
Revises: a4d8e2f61c37
Create Date: 2026-12-04 19:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2c8a6f41e57'
down_revision = 'a4d8e2f61c37'
branch_labels = None
depends_on = None

BEFORE = ('draft', 'pending_approval', 'rejected', 'approved', 'scheduled', 'sending', 'paused',
          'completed', 'cancelled')
AFTER = ('draft', 'submitting', *BEFORE[1:])
NAME = 'ck_campaigns_campaignstatus'


def _allow(statuses):
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint(op.f(NAME), type_='check')
        batch.create_check_constraint(
            op.f(NAME), sa.column('status').in_(statuses))


def upgrade():
    _allow(AFTER)


def downgrade():
    op.execute("UPDATE campaigns SET status = 'draft', snapshot = NULL, snapshot_hash = NULL, "
               "submitted_at = NULL WHERE status = 'submitting'")
    _allow(BEFORE)
