"""The demo data a newcomer's first run creates."""

from __future__ import annotations

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Device


def test_demo_seed_creates_an_approved_campaign_once(app, backend):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["demo", "seed", "--contacts", "40", "--devices", "5"])
    assert r.exit_code == 0, r.output
    assert "one-time password" in r.output and "3 rows refused" in r.output
    c = db.session.query(Campaign).one()
    assert c.status is CampaignStatus.APPROVED and c.approved_by_id != c.created_by_id
    assert db.session.query(Device).count() == 5
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "exists already" in again.output
    assert db.session.query(Campaign).count() == 1
