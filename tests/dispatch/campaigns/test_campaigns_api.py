"""Listing, filters, pagination, phase tags and the shape of a campaign in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.extensions import db
from dispatch.models import Campaign


def ids(resp):
    assert resp.status_code == 200, resp.json
    return [item["id"] for item in resp.json["items"]]


def test_list_filters_and_pagination(flow, people, backend):
    a = flow.to("draft", phase_tag="truoc-dai-hoi")
    b = flow.to("pending_approval", phase_tag="trong-dai-hoi", channels="both",
                push_title="T", push_body="B", audience={"lists": [flow.list.id],
                                                        "localities": ["vi-thanh"]})
    c = flow.to("approved", author="editor2", phase_tag="sau-dai-hoi")
    d = flow.create(channels="push", audience={"all_app_users": True}, push_title="T",
                    push_body="B")
    client = flow.as_("approver")
    assert ids(client.get("/api/campaigns")) == [d["id"], c["id"], b["id"], a["id"]]
    assert ids(client.get("/api/campaigns?status=pending_approval")) == [b["id"]]
    assert ids(client.get("/api/campaigns?phase_tag=sau-dai-hoi")) == [c["id"]]
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
                       ("per_page=0", "per_page"), ("author_id=me", "author_id")):
        resp = client.get(f"/api/campaigns?{bad}")
        assert resp.status_code == 422 and field in resp.json["errors"], resp.json


def test_phase_tags_offer_the_seeded_three(flow, backend):
    resp = flow.as_("editor").get("/api/phase-tags")
    assert resp.status_code == 200
    assert [t["name"] for t in resp.json] == ["truoc-dai-hoi", "trong-dai-hoi", "sau-dai-hoi"]
    assert all(t["description"] for t in resp.json)
    # Tags are free: any other tag is accepted too.
    assert flow.create(phase_tag="tong-ket")["phase_tag"] == "tong-ket"


def test_campaign_detail_shape(flow, backend):
    c = flow.to("pending_approval")
    shown = flow.get(c["id"], "approver")
    for field in ("title", "phase_tag", "decision_ref", "channels", "sms_text", "sms_sender",
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
                 "/api/campaigns/{campaign_id}/preview", "/api/phase-tags"):
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
