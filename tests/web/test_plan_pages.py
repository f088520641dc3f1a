"""The plan pages: an admin writes a plan and its phases, everyone reads its calendar, and a
campaign going out outside its phase's dates is flagged on the composer, its page and approval."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Phase, Plan, User
from tests.helpers import web as helpers
from tests.helpers.engine import freeze_now, submit
from tests.helpers.plans import congress
from tests.web.test_campaign_pages import composer_form


def section(html: str, element_id: str) -> str:
    """The HTML of the <section> with this id."""
    found = re.search(rf'<section[^>]*id="{element_id}"[^>]*>(.*?)</section>', html, re.S)
    assert found, element_id
    return found.group(1)


def test_an_admin_writes_the_plan_and_its_phases_through_the_pages(backend: str,
                                                                   as_role: Any) -> None:
    admin = as_role("admin")
    assert "Thêm kế hoạch" in admin.get("/plans").get_data(as_text=True)
    made = admin.post("/plans/new", {"title": "Kế hoạch truyền thông Đại hội",
                                     "reference": "125/KH-STTTT", "starts_on": "2025-01-01",
                                     "ends_on": "2025-12-31", "description": "Mục đích."})
    assert made.status_code == 302, made.get_data(as_text=True)
    plan = db.session.scalars(select(Plan)).one()
    assert made.headers["Location"] == f"/plans/{plan.id}"
    first = admin.post(f"/plans/{plan.id}/phases/new", {
        "name": "Đợt 1: Trước Đại hội", "starts_on": "2025-01-01", "ends_on": "2025-06-30",
        "purpose": "Tuyên truyền trước Đại hội."})
    assert first.status_code == 302
    # An overlapping phase is refused on the page, naming the field, in Vietnamese.
    overlap = admin.post(f"/plans/{plan.id}/phases/new", {
        "name": "Đợt 2", "starts_on": "2025-06-15", "ends_on": "2025-07-03"})
    assert overlap.status_code == 422
    html = overlap.get_data(as_text=True)
    assert 'id="starts_on-error"' in html
    assert "Trùng thời gian với đợt khác: Đợt 1: Trước Đại hội, 01/01/2025 – 30/06/2025" in html
    inverted = admin.post(f"/plans/{plan.id}/phases/new", {
        "name": "Đợt 2", "starts_on": "2025-07-03", "ends_on": "2025-07-01"})
    assert inverted.status_code == 422
    assert "Ngày kết thúc trước ngày bắt đầu: 03/07/2025" in inverted.get_data(as_text=True)
    blank = admin.post(f"/plans/{plan.id}/phases/new", {"name": "Đợt 2", "starts_on": "",
                                                        "ends_on": "ngày mai"})
    assert blank.status_code == 422
    assert "Hãy nhập ngày bắt đầu." in blank.get_data(as_text=True)
    assert admin.post(f"/plans/{plan.id}/phases/new", {
        "name": "Đợt 2", "starts_on": "2025-07-01", "ends_on": "2025-07-03"}).status_code == 302
    page = admin.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "125/KH-STTTT" in page and "01/01/2025 – 30/06/2025" in page
    assert "Tuyên truyền trước Đại hội." in page
    phases = db.session.scalars(select(Phase).order_by(Phase.id)).all()
    edit = admin.post(f"/plans/{plan.id}/phases/{phases[1].id}/edit", {
        "name": "Đợt 2: Trong thời gian diễn ra Đại hội", "starts_on": "2025-07-01",
        "ends_on": "2025-07-02", "purpose": ""})
    assert edit.status_code == 302 and phases[1].ends_on.isoformat() == "2025-07-02"
    shrink = admin.post(f"/plans/{plan.id}/edit", {
        "title": plan.title, "reference": "", "starts_on": "2025-02-01",
        "ends_on": "2025-12-31", "description": ""})
    assert shrink.status_code == 422
    assert "Có đợt bắt đầu trước ngày này" in shrink.get_data(as_text=True)
    gone = admin.post(f"/plans/{plan.id}/phases/{phases[1].id}/edit", {"intent": "delete"})
    assert gone.status_code == 302 and db.session.get(Phase, phases[1].id) is None


def test_editors_and_approvers_read_plans_but_do_not_write_them(backend: str,
                                                               as_role: Any) -> None:
    plan = congress()
    for role in ("editor", "approver"):
        who = as_role(role)
        page = who.get(f"/plans/{plan.id}").get_data(as_text=True)
        assert "Đợt 1: Trước Đại hội" in page and "Sửa kế hoạch" not in page
        assert who.get(f"/plans/{plan.id}/calendar").status_code == 200
        assert who.get("/plans/new").status_code == 403
        assert who.post(f"/plans/{plan.id}/edit", {"title": "x"}).status_code == 403


def test_the_calendar_shows_sent_and_scheduled_campaigns_per_phase(backend: str, as_role: Any,
                                                                  people: dict[str, User]) -> None:
    plan = congress()  # phase 1 until 10/03/2025, phase 2 11–13/03/2025, phase 3 from 14/03
    first, during, after = plan.phases
    author = people["editor"].id
    db.session.add_all([
        Campaign(title="Chào mừng Đại hội", channels="sms", phase_id=first.id,
                 created_by_id=author, status=CampaignStatus.COMPLETED,
                 launched_at=datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),
        Campaign(title="Khai mạc Đại hội", channels="sms", phase_id=during.id,
                 created_by_id=author, status=CampaignStatus.SCHEDULED,
                 launched_at=datetime(2025, 3, 1, 2, 0, tzinfo=UTC),
                 send_at=datetime(2025, 3, 11, 0, 30, tzinfo=UTC)),
        Campaign(title="Bế mạc muộn", channels="sms", phase_id=during.id,
                 created_by_id=author, status=CampaignStatus.DRAFT,
                 send_at=datetime(2025, 3, 20, 0, 30, tzinfo=UTC)),
        Campaign(title="Nghị quyết Đại hội", channels="sms", phase_id=after.id,
                 created_by_id=author, status=CampaignStatus.DRAFT),
    ])
    db.session.commit()
    html = as_role("editor").get(f"/plans/{plan.id}/calendar").get_data(as_text=True)
    one = section(html, f"calendar-phase-{first.id}")
    assert "Chào mừng Đại hội" in one and 'data-kind="sent"' in one
    assert "Thứ Bảy, 01/03/2025" in one and "08:00" in one
    assert 'data-kind="scheduled"' not in one
    two = section(html, f"calendar-phase-{during.id}")
    assert "Khai mạc Đại hội" in two and "Thứ Ba, 11/03/2025" in two and "07:30" in two
    assert two.count('data-kind="scheduled"') == 2 and 'data-kind="sent"' not in two
    # The late one is placed on its day, flagged outside the phase's dates.
    late = two[two.index("20/03/2025") - 200:]
    assert "ngoài thời gian của đợt" in late and "Bế mạc muộn" in late
    three = section(html, f"calendar-phase-{after.id}")
    assert "Chưa hẹn giờ gửi" in three and "Nghị quyết Đại hội" in three
    # The plan page counts them per phase.
    page = as_role("editor").get(f"/plans/{plan.id}").get_data(as_text=True)
    assert "Chiến dịch: 0 đã gửi, 2 đã lên lịch, 0 chưa hẹn giờ gửi." in page


def test_a_send_outside_its_phase_is_flagged_before_approval(backend: str, as_role: Any,
                                                            people: dict[str, User]) -> None:
    plan = congress()  # every phase is in 2025: sending today is after all of them
    first = plan.phases[0]
    lst = helpers.contact_list()
    editor = as_role("editor")
    composer = editor.get("/campaigns/new").get_data(as_text=True)
    assert "Đợt 1: Trước Đại hội (01/09/2024 – 10/03/2025)" in composer  # the phase choice
    assert 'id="outside-phase"' not in composer
    saved = editor.post("/campaigns/new", composer_form(lst.id, phase_id=str(first.id)))
    assert saved.status_code == 302
    c = db.session.scalars(select(Campaign)).one()
    assert c.phase_id == first.id
    warning = "ngoài thời gian của Đợt 1: Trước Đại hội (01/09/2024 – 10/03/2025)"
    for path in (f"/campaigns/{c.id}/edit", f"/campaigns/{c.id}"):
        html = editor.get(path).get_data(as_text=True)
        assert 'id="outside-phase"' in html and warning in html, path
        assert "gửi ngay khi phát hành: hôm nay" in html, path
    # Scheduled on a day outside the phase: the day is named.
    scheduled = (datetime.now(UTC) + timedelta(days=3)).astimezone()
    when = scheduled.strftime("%Y-%m-%dT%H:%M")
    editor.post(f"/campaigns/{c.id}/edit", composer_form(lst.id, phase_id=str(first.id),
                                                          send_at=when, intent="submit"))
    assert freeze_now(c.id) == "frozen"
    db.session.refresh(c)
    assert c.status is CampaignStatus.PENDING_APPROVAL  # a warning, not a refusal
    review = as_role("approver").get(f"/approvals/{c.id}").get_data(as_text=True)
    assert 'id="outside-phase"' in review and warning in review
    day = c.send_at.astimezone(local_zone()).strftime("%d/%m/%Y")
    assert f"chiến dịch hẹn gửi ngày {day}, {warning}" in review
    # The phase is shown by name (with a link to its plan), never a slug.
    assert "Đợt 1: Trước Đại hội" in review and "truoc-dai-hoi" not in review
    assert f'href="/plans/{plan.id}"' in review
    # Moved into a phase whose dates cover the send: no warning any more.
    first.ends_on = (datetime.now(UTC) + timedelta(days=30)).date()
    db.session.commit()
    assert 'id="outside-phase"' not in editor.get(f"/campaigns/{c.id}").get_data(as_text=True)


def test_the_campaign_list_filters_by_phase(backend: str, as_role: Any,
                                            people: dict[str, User]) -> None:
    plan = congress()
    lst = helpers.contact_list()
    a = helpers.campaign(people["editor"], lst, title="Trước", phase_id=plan.phases[0].id)
    helpers.campaign(people["editor"], lst, title="Trong", phase_id=plan.phases[1].id)
    html = as_role("editor").get(f"/campaigns?phase_id={plan.phases[0].id}").get_data(
        as_text=True)
    assert f'href="/campaigns/{a.id}"' in html and ">Trong<" not in html
    assert re.search(r"<td[^>]*>(<[^>]+>)*Đợt 1: Trước Đại hội<", html)  # labelled cell
    everything = as_role("editor").get(f"/campaigns?plan_id={plan.id}&phase_id=x")
    assert everything.status_code == 200 and ">Trong<" in everything.get_data(as_text=True)


def test_the_approval_shows_a_change_of_phase_by_name(backend: str, as_role: Any,
                                                      people: dict[str, User]) -> None:
    from dispatch.campaigns import service
    from dispatch.web.approvals import _readable

    plan = congress()
    first, during, _ = plan.phases
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst, phase_id=first.id)
    service.update(c, {"phase_id": during.id}, actor=people["editor"])
    submit(c, actor=people["editor"])
    review = as_role("approver").get(f"/approvals/{c.id}").get_data(as_text=True)
    row = re.search(r"<tr><td[^>]*>(<[^>]+>)*Đợt<.*?</tr>", review, re.S)
    assert row, review
    assert "Đợt 1: Trước Đại hội" in row.group() and "Đợt 2: Trong thời gian" in row.group()
    # A version submitted before the upgrade named the same phase by its tag: no change.
    legacy = [{"field": "phase_tag", "before": "truoc-dai-hoi", "after": None},
              {"field": "phase_id", "before": None, "after": first.id}]
    assert _readable(legacy) == []
    other = [{"field": "phase_tag", "before": "tong-ket", "after": None},
             {"field": "phase_id", "before": None, "after": first.id}]
    assert [(ch["before"], ch["after"]) for ch in _readable(other)] == [
        ("tong-ket", "Đợt 1: Trước Đại hội (01/09/2024 – 10/03/2025)")]
