"""Approval binds to a snapshot: edits void it, stale reviews are refused, all of it audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from dispatch.campaigns import audit, service
from dispatch.errors import Conflict
from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, CampaignStatus, User


def trail(flow, cid, who="approver"):
    resp = flow.as_(who).get(f"/api/campaigns/{cid}/audit")
    assert resp.status_code == 200
    return resp.json["items"]


def test_submit_freezes_a_snapshot_with_its_hash(flow, backend):
    c = flow.create()
    assert c["snapshot"] is None and c["snapshot_hash"] is None
    s = flow.ok("editor", c["id"], "submit")
    assert s["snapshot"]["sms_text"] == c["sms_text"]
    assert s["snapshot"]["audience"] == {"lists": [flow.list.id], "exclude_lists": [],
                                         "localities": [], "all_app_users": False}
    assert s["snapshot_hash"] == audit.content_hash(s["snapshot"])
    assert s["submitted_at"] is not None


@pytest.mark.parametrize("status", ["pending_approval", "approved", "scheduled"])
def test_edit_after_submission_or_approval_voids_it(flow, backend, status):
    c = flow.to(status)
    old_hash, old_snapshot = c["snapshot_hash"], c["snapshot"]
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"sms_text": "Đổi nội dung."})
    assert resp.status_code == 200, resp.json
    edited = resp.json
    assert edited["status"] == "draft"
    assert edited["version"] == c["version"] + 1
    assert edited["snapshot"] is None and edited["snapshot_hash"] is None
    assert edited["approved_by_id"] is None and edited["approved_at"] is None
    assert edited["submitted_at"] is None and edited["launched_at"] is None
    assert edited["cap_exempt"] is False

    void, update = trail(flow, c["id"])[-2:]
    assert void["action"] == "campaign.void"
    assert void["details"]["voided"] == ("submission" if status == "pending_approval"
                                         else "approval")
    assert void["details"]["from"] == status
    assert void["details"]["snapshot"] == old_snapshot
    assert void["details"]["snapshot_hash"] == old_hash == void["before_hash"]
    assert "void" in void["reason"]
    assert update["action"] == "campaign.update"
    assert update["before_hash"] == old_hash and update["after_hash"] != old_hash
    assert update["details"]["changes"] == [
        {"field": "sms_text", "before": old_snapshot["sms_text"], "after": "Đổi nội dung."}]

    # It must be submitted and approved again before it can be launched.
    refused = flow.act("editor", c["id"], "launch")
    assert refused.status_code == 409 and refused.json["code"] == "invalid_transition"


def test_edit_after_rejection_returns_to_draft(flow, backend):
    c = flow.to("rejected")
    assert c["rejection_reason"] == "Sai chính tả."
    edited = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"title": "Sửa lại"}).json
    assert edited["status"] == "draft" and edited["snapshot"] is None
    assert trail(flow, c["id"])[-1]["details"]["from"] == "rejected"
    resubmitted = flow.ok("editor", c["id"], "submit")
    assert resubmitted["rejection_reason"] is None


def test_saving_unchanged_content_voids_nothing(flow, backend):
    c = flow.to("approved")
    same = flow.as_("editor").patch(f"/api/campaigns/{c['id']}",
                                    json={"title": c["title"], "sms_text": c["sms_text"]})
    assert same.status_code == 200
    assert same.json["status"] == "approved" and same.json["version"] == c["version"]
    assert trail(flow, c["id"])[-1]["action"] == "campaign.approve"


@pytest.mark.parametrize("status", ["sending", "paused", "completed", "cancelled"])
def test_edits_refused_once_sending_started_or_finished(flow, backend, status):
    c = flow.to(status)
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"title": "Muộn"})
    assert resp.status_code == 409 and resp.json["code"] == "invalid_transition"
    assert status in resp.json["message"] and "edit" in resp.json["message"]


def test_approve_with_a_stale_snapshot_is_refused(flow, backend):
    c = flow.to("pending_approval")
    seen = c["snapshot_hash"]
    # The editor changes the text and submits again while the approver was reading.
    flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"sms_text": "Bản mới."})
    flow.submit(c["id"])
    resp = flow.act("approver", c["id"], "approve", snapshot_hash=seen)
    assert resp.status_code == 409 and resp.json["code"] == "stale_snapshot"
    assert "snapshot_hash" in resp.json["errors"]
    assert flow.get(c["id"])["status"] == "pending_approval"
    missing = flow.act("approver", c["id"], "approve")
    assert missing.status_code == 422 and "snapshot_hash" in missing.json["errors"]


def test_reject_with_a_stale_snapshot_is_refused(flow, backend):
    c = flow.to("pending_approval")
    resp = flow.act("approver", c["id"], "reject", reason="Không.", snapshot_hash="f" * 64)
    assert resp.status_code == 409 and resp.json["code"] == "stale_snapshot"


def test_a_concurrent_edit_makes_the_approval_lose(flow, backend):
    """The approver read the campaign; an edit commits before the approval writes."""
    c = flow.to("pending_approval")
    campaign = db.session.get(Campaign, c["id"])
    # Another request's edit, committed behind this session's back.
    db.session.execute(db.update(Campaign).where(Campaign.id == c["id"])
                       .values(version=Campaign.version + 1, status="draft")
                       .execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as caught:
        service.approve(campaign, actor=flow.people["approver"],
                        snapshot_hash=c["snapshot_hash"])
    assert caught.value.code == "stale_snapshot"
    db.session.rollback()


def test_a_concurrent_transition_makes_the_second_lose(flow, backend):
    c = flow.to("sending")
    campaign = db.session.get(Campaign, c["id"])
    db.session.execute(db.update(Campaign).where(Campaign.id == c["id"])
                       .values(status="paused").execution_options(synchronize_session=False))
    with pytest.raises(Conflict) as caught:
        service.pause(campaign, actor=flow.people["editor"])
    assert caught.value.code == "concurrent_change"
    db.session.rollback()


@pytest.mark.parametrize("run", range(3))
def test_racing_approve_and_edit_in_two_sessions(app, flow, backend, run):
    """Both requests read the pending campaign; exactly one wins, the other gets a 409."""
    c = flow.to("pending_approval")
    people = {k: v.id for k, v in flow.people.items()}
    ready = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def request(name, act):
        with app.app_context():
            campaign = db.session.get(Campaign, c["id"])
            ready.wait()
            try:
                act(campaign)
                db.session.commit()
                outcomes[name] = "ok"
            except Conflict as err:
                db.session.rollback()
                outcomes[name] = err.code
            finally:
                db.session.remove()

    def approve(campaign):
        service.approve(campaign, actor=db.session.get(User, people["approver"]),
                        snapshot_hash=c["snapshot_hash"])

    def edit(campaign):
        service.update(campaign, {"sms_text": "Sửa gấp."},
                       actor=db.session.get(User, people["editor"]))

    threads = [threading.Thread(target=request, args=("approve", approve)),
               threading.Thread(target=request, args=("edit", edit))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes.values()) in (["ok", "stale_snapshot"], ["concurrent_change", "ok"])
    db.session.expire_all()
    final = db.session.get(Campaign, c["id"])
    if outcomes["approve"] == "ok":
        assert final.status == CampaignStatus.APPROVED and final.version == 1
        assert final.snapshot_hash == c["snapshot_hash"] and final.sms_text == c["sms_text"]
    else:
        assert final.status == CampaignStatus.DRAFT and final.version == 2
        assert final.approved_by_id is None and final.sms_text == "Sửa gấp."


def test_launch_refuses_content_changed_behind_the_services_back(flow, backend):
    c = flow.to("approved")
    db.session.execute(db.update(Campaign).where(Campaign.id == c["id"])
                       .values(sms_text="Sửa lén."))
    db.session.commit()
    resp = flow.act("editor", c["id"], "launch")
    assert resp.status_code == 409 and resp.json["code"] == "approval_mismatch"


def test_cap_exemption_is_for_approvers_and_urgent_campaigns(flow, backend):
    c = flow.to("draft")
    refused = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"cap_exempt": True})
    assert refused.status_code == 422 and "cap_exempt" in refused.json["errors"]
    refused = flow.as_("editor").post("/api/campaigns", json=flow.body(cap_exempt=True))
    assert refused.status_code == 422 and "cap_exempt" in refused.json["errors"]

    normal = flow.to("pending_approval")
    resp = flow.act("approver", normal["id"], "approve", snapshot_hash=normal["snapshot_hash"],
                    cap_exempt=True)
    assert resp.status_code == 422 and "cap_exempt" in resp.json["errors"]

    urgent = flow.to("pending_approval", priority="urgent")
    approved = flow.ok("approver", urgent["id"], "approve",
                       snapshot_hash=urgent["snapshot_hash"], cap_exempt=True)
    assert approved["cap_exempt"] is True
    assert trail(flow, urgent["id"])[-1]["details"]["cap_exempt"] is True
    # An edit voids the exemption with the approval.
    edited = flow.as_("editor").patch(f"/api/campaigns/{urgent['id']}", json={"title": "Khẩn"})
    assert edited.json["cap_exempt"] is False


def test_audit_trail_records_actor_reason_and_hashes(flow, people, backend):
    c = flow.create()
    h0 = flow.submit(c["id"])["snapshot_hash"]
    flow.ok("editor", c["id"], "reopen")
    flow.as_("editor2").patch(f"/api/campaigns/{c['id']}", json={"title": "Tiêu đề hai"})
    s = flow.submit(c["id"])
    h1 = s["snapshot_hash"]
    flow.ok("approver", c["id"], "approve", snapshot_hash=h1, comment="Đồng ý.")
    flow.ok("editor", c["id"], "launch")
    flow.ok("admin", c["id"], "pause", reason="Sự cố nhà mạng.")
    flow.ok("approver", c["id"], "resume")
    flow.ok("admin", c["id"], "cancel", reason="Dừng hẳn.")

    events = trail(flow, c["id"])
    got = [(e["action"], e["actor_id"], e["reason"], e["before_hash"], e["after_hash"])
           for e in events]
    ed, ed2, ap, ad = (people[k].id for k in ("editor", "editor2", "approver", "admin"))
    assert got == [
        ("campaign.create", ed, None, None, h0),
        ("campaign.submit", ed, None, h0, h0),
        ("campaign.frozen", None, None, h0, h0),
        ("campaign.reopen", ed, None, h0, h0),
        ("campaign.update", ed2, None, h0, h1),
        ("campaign.submit", ed, None, h1, h1),
        ("campaign.frozen", None, None, h1, h1),
        ("campaign.approve", ap, "Đồng ý.", h1, h1),
        ("campaign.launch", ed, None, h1, h1),
        ("campaign.pause", ad, "Sự cố nhà mạng.", h1, h1),
        ("campaign.resume", ap, None, h1, h1),
        ("campaign.cancel", ad, "Dừng hẳn.", h1, h1),
    ]
    assert [(e["details"]["from"], e["details"]["to"]) for e in events[1:4]] == [
        ("draft", "submitting"), ("submitting", "pending_approval"), ("pending_approval", "draft")]
    assert events[2]["details"]["frozen_reach"]["sms"]["recipients"] == 1
    assert events[1]["details"]["snapshot"]["title"] == "Thông báo Đại hội"
    # The trail is append-only.
    row = db.session.get(AuditEvent, events[0]["id"])
    row.reason = "rewritten"
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()


def test_reasons_are_required_to_reject_and_cancel(flow, backend):
    c = flow.to("pending_approval")
    for body in ({}, {"reason": "   "}):
        resp = flow.act("approver", c["id"], "reject", **body)
        assert resp.status_code == 422 and "reason" in resp.json["errors"]
    a = flow.to("approved")
    resp = flow.act("admin", a["id"], "cancel", reason="")
    assert resp.status_code == 422 and "reason" in resp.json["errors"]
    assert flow.get(a["id"])["status"] == "approved"


def test_diff_shows_what_changed_since_the_version_the_approver_saw(flow, backend):
    c = flow.to("approved")
    first = c["snapshot_hash"]
    client = flow.as_("editor")
    client.patch(f"/api/campaigns/{c['id']}", json={"sms_text": "Nội dung hai.",
                                                    "audience": {"lists": [flow.list.id],
                                                                 "localities": ["vi-thanh"]}})
    draft_diff = flow.as_("approver").get(f"/api/campaigns/{c['id']}/diff").json
    assert draft_diff["base"]["snapshot_hash"] == first
    assert [ch["field"] for ch in draft_diff["changes"]] == ["sms_text", "audience.localities"]
    assert draft_diff["changes"][1] == {"field": "audience.localities", "before": [],
                                        "after": ["vi-thanh"]}

    flow.ok("editor", c["id"], "submit")
    pending = flow.as_("approver").get(f"/api/campaigns/{c['id']}/diff").json
    assert pending["base"]["snapshot_hash"] == first and pending["base"]["version"] == 1
    assert pending["current_version"] == 2 and len(pending["changes"]) == 2
    against = flow.as_("approver").get(f"/api/campaigns/{c['id']}/diff?against=approved").json
    assert against["base"]["kind"] == "approved" and against["changes"] == pending["changes"]

    fresh = flow.to("pending_approval")
    nothing = flow.as_("approver").get(f"/api/campaigns/{fresh['id']}/diff").json
    assert nothing["base"] is None and nothing["changes"] == []
    bad = flow.as_("approver").get(f"/api/campaigns/{fresh['id']}/diff?against=draft")
    assert bad.status_code == 422 and "against" in bad.json["errors"]


def test_deleting_a_draft_is_audited_and_only_drafts_go(flow, backend):
    c = flow.create()
    assert flow.as_("editor").delete(f"/api/campaigns/{c['id']}").status_code == 204
    assert db.session.get(Campaign, c["id"]) is None
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "campaign.delete" and event.details["title"] == c["title"]
    a = flow.to("approved")
    resp = flow.as_("editor").delete(f"/api/campaigns/{a['id']}")
    assert resp.status_code == 409 and resp.json["code"] == "invalid_transition"
