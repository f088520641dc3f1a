"""Plans and their phases through the API: create, edit, the refusals, who may, the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, CampaignStatus
from tests.helpers.plans import congress

PLAN = {"reference": "125/KH-STTTT", "title": "Kế hoạch truyền thông Đại hội",
        "starts_on": "2025-01-01", "ends_on": "2025-12-31",
        "description": "Tuyên truyền trước, trong và sau Đại hội."}


def refused(resp, field, status=422):
    assert resp.status_code == status, resp.json
    assert field in resp.json["errors"], resp.json
    assert resp.json["message"].startswith(field), resp.json
    return resp.json["errors"][field][0]


@pytest.fixture()
def admin(api, people):
    return api.as_(people["admin"])


@pytest.fixture()
def plan(admin):
    resp = admin.post("/api/plans", json=PLAN)
    assert resp.status_code == 201, resp.json
    return resp.json


def phase(admin, plan, name, starts, ends, **more):
    return admin.post(f"/api/plans/{plan['id']}/phases",
                      json={"name": name, "starts_on": starts, "ends_on": ends, **more})


def test_an_admin_writes_a_plan_and_its_phases(admin, plan, backend):
    assert plan["reference"] == "125/KH-STTTT" and plan["phases"] == []
    one = phase(admin, plan, "Đợt 1: Trước Đại hội", "2025-01-01", "2025-06-30",
                purpose="Tuyên truyền trước Đại hội.")
    assert one.status_code == 201, one.json
    three = phase(admin, plan, "Đợt 3: Sau Đại hội", "2025-07-04", "2025-08-31")
    two = phase(admin, plan, "Đợt 2: Trong Đại hội", "2025-07-01", "2025-07-03")
    assert three.status_code == 201 and two.status_code == 201
    shown = admin.get(f"/api/plans/{plan['id']}").json
    # By start date, whatever order they were added in.
    assert [p["name"] for p in shown["phases"]] == [
        "Đợt 1: Trước Đại hội", "Đợt 2: Trong Đại hội", "Đợt 3: Sau Đại hội"]
    assert shown["phases"][0]["purpose"] == "Tuyên truyền trước Đại hội."
    edited = admin.patch(f"/api/plans/{plan['id']}/phases/{two.json['id']}",
                         json={"name": "Đợt 2: Trong thời gian diễn ra Đại hội",
                               "ends_on": "2025-07-02"})
    assert edited.status_code == 200 and edited.json["ends_on"] == "2025-07-02"
    renamed = admin.patch(f"/api/plans/{plan['id']}", json={"reference": "130/KH-STTTT"})
    assert renamed.status_code == 200 and renamed.json["reference"] == "130/KH-STTTT"
    assert [p["id"] for p in admin.get("/api/plans").json] == [plan["id"]]
    actions = [e.action for e in db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.entity == "plan").order_by(AuditEvent.id))]
    assert actions == ["plan.create", "phase.create", "phase.create", "phase.create",
                       "phase.update", "plan.update"]


def test_overlapping_and_inverted_ranges_are_refused_naming_the_field(admin, plan, backend):
    assert phase(admin, plan, "Đợt 1", "2025-01-01", "2025-06-30").status_code == 201
    message = refused(phase(admin, plan, "Đợt lệch", "2025-06-01", "2025-07-10"), "starts_on")
    assert message == "Overlaps another phase: Đợt 1, 01/01/2025 – 30/06/2025"
    # A one-day phase on the first day of another.
    assert refused(phase(admin, plan, "Đợt 0", "2025-01-01", "2025-01-01"), "starts_on")
    refused(phase(admin, plan, "Ngược", "2025-08-10", "2025-08-01"), "ends_on")
    refused(phase(admin, plan, "Trước kế hoạch", "2024-12-01", "2024-12-31"), "starts_on")
    refused(phase(admin, plan, "Sau kế hoạch", "2025-12-01", "2026-01-31"), "ends_on")
    refused(phase(admin, plan, "", "2025-08-01", "2025-08-31"), "name")
    refused(phase(admin, plan, "Ngày sai", "2025-02-30", "2025-08-31"), "starts_on")
    refused(phase(admin, plan, "Năm sai", "2025-08-01", "9999-12-31"), "ends_on")
    refused(admin.post(f"/api/plans/{plan['id']}/phases", json={"name": "Thiếu ngày"}),
            "starts_on")
    refused(phase(admin, plan, "Có NUL\x00", "2025-08-01", "2025-08-31"), "name")
    # An edit into another phase, or a plan shrunk past its phases, is refused too.
    later = phase(admin, plan, "Đợt 2", "2025-07-01", "2025-07-31").json
    refused(admin.patch(f"/api/plans/{plan['id']}/phases/{later['id']}",
                        json={"starts_on": "2025-06-30"}), "starts_on")
    refused(admin.patch(f"/api/plans/{plan['id']}", json={"ends_on": "2025-07-15"}), "ends_on")
    refused(admin.patch(f"/api/plans/{plan['id']}", json={"starts_on": "2025-02-01"}),
            "starts_on")
    refused(admin.patch(f"/api/plans/{plan['id']}", json={"ends_on": "2024-01-01"}), "ends_on")
    refused(admin.patch(f"/api/plans/{plan['id']}", json={"starts_on": None}), "starts_on")
    refused(admin.post("/api/plans", json={**PLAN, "ends_on": "2024-12-31"}), "ends_on")
    refused(admin.post("/api/plans", json={**PLAN, "title": "   "}), "title")
    refused(admin.post("/api/plans", json={**PLAN, "colour": "red"}), "colour")
    # Nothing refused was kept.
    shown = admin.get(f"/api/plans/{plan['id']}").json
    assert [(p["name"], p["starts_on"], p["ends_on"]) for p in shown["phases"]] == [
        ("Đợt 1", "2025-01-01", "2025-06-30"), ("Đợt 2", "2025-07-01", "2025-07-31")]
    assert (shown["starts_on"], shown["ends_on"]) == ("2025-01-01", "2025-12-31")


def test_unknown_plan_or_phase_is_a_404(admin, plan, backend):
    assert admin.get("/api/plans/987654").status_code == 404
    assert admin.patch("/api/plans/987654", json={"title": "x"}).status_code == 404
    other = admin.post("/api/plans", json=PLAN).json
    one = phase(admin, plan, "Đợt 1", "2025-01-01", "2025-06-30").json
    # A phase is reached through its own plan only.
    assert admin.get(f"/api/plans/{other['id']}/phases/{one['id']}").status_code == 404
    assert admin.get(f"/api/plans/{plan['id']}/phases/{one['id']}").status_code == 200


def test_a_phase_with_campaigns_is_not_deleted(admin, plan, api, people, backend):
    one = phase(admin, plan, "Đợt 1", "2025-01-01", "2025-06-30").json
    empty = phase(admin, plan, "Đợt 2", "2025-07-01", "2025-07-31").json
    editor = api.as_(people["editor"])
    made = editor.post("/api/campaigns", json={"title": "Chào mừng", "phase_id": one["id"]})
    assert made.status_code == 201, made.json
    resp = admin.delete(f"/api/plans/{plan['id']}/phases/{one['id']}")
    assert resp.status_code == 409 and resp.json["code"] == "phase_in_use"
    assert admin.delete(f"/api/plans/{plan['id']}/phases/{empty['id']}").status_code == 204
    assert [p["id"] for p in admin.get(f"/api/plans/{plan['id']}").json["phases"]] == [one["id"]]


@pytest.mark.parametrize("role", ["editor", "approver", "editor_approver"])
def test_only_admins_write_plans_everyone_reads_them(api, people, plan, role, backend):
    who = api.as_(people[role])
    assert who.get("/api/plans").status_code == 200
    assert who.get(f"/api/plans/{plan['id']}/calendar").status_code == 200
    assert who.post("/api/plans", json=PLAN).status_code == 403
    assert who.patch(f"/api/plans/{plan['id']}", json={"title": "x"}).status_code == 403
    assert who.post(f"/api/plans/{plan['id']}/phases", json={
        "name": "x", "starts_on": "2025-01-01", "ends_on": "2025-01-02"}).status_code == 403
    assert api.get("/api/plans").status_code == 401


def test_the_calendar_lists_sent_scheduled_and_unscheduled_per_phase(api, people, backend):
    plan = congress()  # phase 1 until 10/03/2025, phase 2 11–13/03, phase 3 from 14/03
    first, during, after = plan.phases
    editor = people["editor"]

    def make(title, phase_id, **more):
        c = Campaign(title=title, channels="sms", phase_id=phase_id, created_by_id=editor.id,
                     **more)
        db.session.add(c)
        return c

    sent = make("Đã gửi", first.id, status=CampaignStatus.COMPLETED,
                launched_at=datetime(2025, 3, 1, 1, 0, tzinfo=UTC))
    soon = make("Hẹn giờ", during.id, status=CampaignStatus.SCHEDULED,
                launched_at=datetime(2025, 3, 1, 1, 0, tzinfo=UTC),
                send_at=datetime(2025, 3, 11, 0, 30, tzinfo=UTC))
    late = make("Hẹn muộn", during.id, status=CampaignStatus.DRAFT,
                send_at=datetime(2025, 3, 20, 0, 30, tzinfo=UTC))
    loose = make("Chưa hẹn", after.id, status=CampaignStatus.DRAFT)
    db.session.commit()
    body = api.as_(people["approver"]).get(f"/api/plans/{plan.id}/calendar").json
    got = {p["phase"]["name"]: [(c["title"], c["kind"], c["outside_phase"])
                                for c in p["campaigns"]] for p in body["phases"]}
    assert got == {
        "Đợt 1: Trước Đại hội": [("Đã gửi", "sent", False)],
        "Đợt 2: Trong thời gian diễn ra Đại hội": [("Hẹn giờ", "scheduled", False),
                                                   ("Hẹn muộn", "scheduled", True)],
        "Đợt 3: Sau khi kết thúc Đại hội": [("Chưa hẹn", "unscheduled", False)],
    }
    assert {sent.id, soon.id, late.id, loose.id} == {
        c["id"] for p in body["phases"] for c in p["campaigns"]}


def test_the_campaign_api_flags_a_send_outside_its_phase(flow, backend):
    plan = congress()
    first, during, _ = plan.phases
    # 2025 is past: a campaign of phase 1 sent when launched goes out today, after its phase.
    c = flow.create(phase_id=first.id)
    warning = flow.get(c["id"], "editor")["outside_phase"]
    today = datetime.now(UTC).astimezone().date()
    assert warning["phase"] == "Đợt 1: Trước Đại hội" and warning["scheduled"] is False
    assert warning["ends_on"] == "2025-03-10"
    assert abs((datetime.fromisoformat(warning["send_on"]).date() - today).days) <= 1
    # A phase whose dates include the send time: no warning.
    db.session.get(type(during), during.id).ends_on = (datetime.now(UTC) + timedelta(days=30)
                                                       ).date()
    db.session.commit()
    inside = flow.create(phase_id=during.id, send_at=(datetime.now(UTC) + timedelta(days=2))
                         .isoformat())
    assert flow.get(inside["id"], "editor")["outside_phase"] is None
    # Still only a warning: the campaign is submitted and approved all the same.
    approved = flow.to("approved", phase_id=first.id)
    assert approved["status"] == "approved" and approved["outside_phase"] is not None
