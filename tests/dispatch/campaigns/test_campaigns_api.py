"""Listing, filters, pagination, phases and the shape of a campaign in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.extensions import db
from dispatch.models import Campaign
from tests.helpers.plans import congress, phase_id


def ids(resp):
    assert resp.status_code == 200, resp.json
    return [item["id"] for item in resp.json["items"]]


def test_list_filters_and_pagination(flow, people, backend):
    a = flow.to("draft", phase_id=phase_id("truoc-dai-hoi"))
    b = flow.to("pending_approval", phase_id=phase_id("trong-dai-hoi"), channels="both",
                push_title="T", push_body="B", audience={"lists": [flow.list.id],
                                                        "localities": ["vi-thanh"]})
    c = flow.to("approved", author="editor2", phase_id=phase_id("sau-dai-hoi"))
    d = flow.create(channels="push", audience={"all_app_users": True}, push_title="T",
                    push_body="B")
    client = flow.as_("approver")
    assert ids(client.get("/api/campaigns")) == [d["id"], c["id"], b["id"], a["id"]]
    assert ids(client.get("/api/campaigns?status=pending_approval")) == [b["id"]]
    assert ids(client.get(f"/api/campaigns?phase_id={phase_id('sau-dai-hoi')}")) == [c["id"]]
    plan = congress()
    assert ids(client.get(f"/api/campaigns?plan_id={plan.id}")) == [c["id"], b["id"], a["id"]]
    assert ids(client.get("/api/campaigns?plan_id=999")) == []
    assert ids(client.get("/api/campaigns?channel=push")) == [d["id"], b["id"]]
    assert ids(client.get("/api/campaigns?channel=sms")) == [c["id"], b["id"], a["id"]]
    assert ids(client.get("/api/campaigns?channel=both")) == [b["id"]]
    assert ids(client.get(f"/api/campaigns?author_id={people['editor2'].id}")) == [c["id"]]
    assert len(ids(client.get("/api/campaigns?q=thông báo"))) == 4
    assert ids(client.get("/api/campaigns?q=không có")) == []

    # Age one campaign to test the creation-time window.
    old = datetime.now(UTC) - timedelta(days=10)
    db.session.execute(db.update(Campaign).where(Campaign.id == a["id"]).values(created_at=old))
    db.session.commit()
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    recent = ids(client.get("/api/campaigns", query_string={"created_since": since}))
    assert recent == [d["id"], c["id"], b["id"]]
    assert ids(client.get("/api/campaigns", query_string={"created_until": since})) == [a["id"]]

    page = client.get("/api/campaigns?per_page=3&page=2").json
    assert page["total"] == 4 and page["page"] == 2 and len(page["items"]) == 1
    listed = client.get("/api/campaigns").json["items"][0]
    assert "sms_text" not in listed and "snapshot" not in listed  # summaries stay small

    for bad, field in (("status=done", "status"), ("channel=fax", "channel"),
                       ("phase_tag=sau-dai-hoi", "phase_tag"), ("phase_id=x", "phase_id"),
                       ("per_page=0", "per_page"), ("author_id=me", "author_id")):
        resp = client.get(f"/api/campaigns?{bad}")
        assert resp.status_code == 422 and field in resp.json["errors"], resp.json


def test_a_campaign_names_its_phase_by_id(flow, backend):
    first = phase_id("truoc-dai-hoi")
    c = flow.create(phase_id=first)
    assert c["phase_id"] == first
    assert c["phase"] == {"id": first, "plan_id": congress().id, "name": "Đợt 1: Trước Đại hội",
                          "starts_on": "2024-09-01", "ends_on": "2025-03-10"}
    listed = flow.as_("editor").get("/api/campaigns").json["items"][0]
    assert listed["phase"]["name"] == "Đợt 1: Trước Đại hội"
    # The free tag is gone: a named refusal says what replaced it; an unknown phase is named.
    for body, field in (({"phase_tag": "tong-ket"}, "phase_tag"), ({"phase_id": 999}, "phase_id"),
                        ({"phase_id": "một"}, "phase_id"), ({"phase_id": 0}, "phase_id")):
        resp = flow.as_("editor").post("/api/campaigns", json=flow.body(**body))
        assert resp.status_code == 422 and field in resp.json["errors"], resp.json
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"phase_tag": "x"})
    assert resp.status_code == 422 and "phase_id" in resp.json["errors"]["phase_tag"][0]
    moved = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"phase_id": None})
    assert moved.status_code == 200 and moved.json["phase"] is None


def test_campaign_detail_shape(flow, backend):
    c = flow.to("pending_approval")
    shown = flow.get(c["id"], "approver")
    for field in ("title", "phase_id", "phase", "outside_phase", "decision_ref", "channels",
                  "sms_text", "sms_sender",
                  "sms_plain", "push_title", "push_body", "push_image", "push_link",
                  "push_data", "audience", "send_at", "window_start", "window_end",
                  "validity_hours", "priority", "cap_exempt", "status", "version",
                  "snapshot", "snapshot_hash", "allowed_actions", "created_by_id"):
        assert field in shown, field
    assert shown["snapshot"]["window_start"] == "07:00"


def test_openapi_documents_the_campaign_endpoints(flow, api, backend):
    spec = api.get("/api/openapi.json").json
    for path in ("/api/campaigns", "/api/campaigns/{campaign_id}",
                 "/api/campaigns/{campaign_id}/approve", "/api/campaigns/{campaign_id}/diff",
                 "/api/campaigns/{campaign_id}/preview", "/api/plans",
                 "/api/plans/{plan_id}/phases", "/api/plans/{plan_id}/calendar"):
        assert path in spec["paths"], path


def test_actions_need_no_body_unless_they_take_arguments(flow, backend):
    c = flow.to("sending")
    client = flow.as_("editor")
    paused = client.post(f"/api/campaigns/{c['id']}/pause")
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert client.post(f"/api/campaigns/{c['id']}/resume").json["status"] == "sending"
    refused = flow.as_("admin").post(f"/api/campaigns/{c['id']}/cancel")
    assert refused.status_code == 422 and "reason" in refused.json["errors"]
    unknown = flow.as_("admin").post(f"/api/campaigns/{c['id']}/cancel",
                                     json={"reason": "x", "force": True})
    assert unknown.status_code == 422 and "force" in unknown.json["errors"]
