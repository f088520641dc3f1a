"""The demo data a newcomer's first run creates."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch.campaigns import plans
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Device, Plan


def test_demo_seed_creates_an_approved_campaign_once(app, backend, redis):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["demo", "seed", "--contacts", "40", "--devices", "5"])
    assert r.exit_code == 0, r.output
    assert "one-time password" in r.output and "3 rows refused" in r.output
    approved, draft, survey = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
    assert approved.id == 1
    assert approved.status is CampaignStatus.APPROVED
    assert approved.approved_by_id != approved.created_by_id
    assert draft.status is CampaignStatus.DRAFT and draft.send_at is not None
    # The survey is launched: it goes out once the worker and the smpp process run
    # (tests/dispatch/sms/test_demo_survey.py follows it to its results).
    assert survey.status is CampaignStatus.SENDING and survey.launched_at is not None
    assert survey.reply_mode == "survey" and survey.channels == "sms"
    assert survey.approved_by_id != survey.created_by_id
    assert [c["key"] for c in survey.survey["choices"]] == ["1", "2", "3"]
    assert f"campaign {survey.id}: a survey of phase 1, launched" in r.output
    assert db.session.query(Device).count() == 5
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "exists already" in again.output
    assert db.session.query(Campaign).count() == 3


def test_demo_seeds_the_congress_plan_with_its_three_phases(app, backend, redis):
    r = app.test_cli_runner().invoke(args=["demo", "seed", "--contacts", "10", "--devices", "1"])
    assert r.exit_code == 0, r.output
    plan = db.session.scalars(select(Plan)).one()
    assert plan.title == ("Kế hoạch truyền thông Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần "
                          "thứ XV, nhiệm kỳ 2025 - 2030")
    assert f"/plans/{plan.id}" in r.output
    first, during, after = plans.ordered(plan.phases)
    assert [p.name for p in (first, during, after)] == [
        "Đợt 1: Trước Đại hội", "Đợt 2: Trong thời gian diễn ra Đại hội",
        "Đợt 3: Sau khi kết thúc Đại hội"]
    assert all(p.purpose for p in (first, during, after))
    today = datetime.now(local_zone()).date()
    # The plan's work starts in September 2024; the congress a week after the demo is made.
    assert plan.starts_on == first.starts_on and first.starts_on.isoformat() == "2024-09-01"
    assert during.starts_on == today + timedelta(days=7) == first.ends_on + timedelta(days=1)
    assert after.starts_on == during.ends_on + timedelta(days=1)
    assert plan.ends_on == after.ends_on
    # By when they go out: the scheduled draft, then the approved one (sent when launched).
    ordered = plans.campaigns_of(plan=plan)
    draft = next(c for c in ordered if c.status is CampaignStatus.DRAFT)
    approved = next(c for c in ordered if c.status is CampaignStatus.APPROVED)
    survey = next(c for c in ordered if c.reply_mode == "survey")
    assert ordered.index(draft) < ordered.index(approved)
    assert (approved.phase_id, draft.phase_id, survey.phase_id) == (first.id, during.id, first.id)
    # All go out inside their phase: no warning on the demo.
    assert all(plans.campaign_warning(c) is None for c in (approved, draft, survey))
    assert plans.campaigns_of(phase=during) == [draft]
