"""Every allowed and every refused transition of the campaign lifecycle, through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch.campaigns import service
from dispatch.errors import InvalidTransition
from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, CampaignStatus

STATUSES = ["draft", "submitting", "pending_approval", "rejected", "approved", "scheduled",
            "sending", "paused", "completed", "cancelled"]
ACTIONS = ["edit", "delete", "submit", "reopen", "approve", "reject", "launch", "pause",
           "resume", "cancel"]

# (status, action) -> status afterwards ("deleted": the row is gone). Anything absent is refused.
ALLOWED = {
    ("draft", "edit"): "draft",
    ("draft", "delete"): "deleted",
    ("draft", "submit"): "submitting",  # the freeze job then makes it pending_approval
    ("submitting", "edit"): "draft",
    ("submitting", "reopen"): "draft",
    ("pending_approval", "edit"): "draft",
    ("pending_approval", "reopen"): "draft",
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "rejected",
    ("rejected", "edit"): "draft",
    ("rejected", "reopen"): "draft",
    ("approved", "edit"): "draft",
    ("approved", "launch"): "sending",
    ("approved", "cancel"): "cancelled",
    ("scheduled", "edit"): "draft",
    ("scheduled", "cancel"): "cancelled",
    ("sending", "pause"): "paused",
    ("sending", "cancel"): "cancelled",
    ("paused", "resume"): "sending",
    ("paused", "cancel"): "cancelled",
}

# Who performs each action in these tests: someone whose roles allow it and who did not write
# the campaign where that matters (approve, reject); the author where it matters (delete).
ACTOR = {"edit": "editor", "delete": "editor", "submit": "editor", "reopen": "editor",
         "approve": "approver", "reject": "approver", "launch": "editor", "pause": "editor",
         "resume": "editor", "cancel": "approver"}


def perform(flow, action, c):
    who, cid = ACTOR[action], c["id"]
    client = flow.as_(who)
    if action == "edit":
        return client.patch(f"/api/campaigns/{cid}", json={"title": "Tiêu đề mới"})
    if action == "delete":
        return client.delete(f"/api/campaigns/{cid}")
    body = {"approve": {"snapshot_hash": c["snapshot_hash"] or "0" * 64},
            "reject": {"reason": "Chưa rõ."}, "cancel": {"reason": "Hoãn lại."}}.get(action, {})
    return flow.act(who, cid, action, **body)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(flow, backend, status, action):
    c = flow.to(status)
    resp = perform(flow, action, c)
    expected = ALLOWED.get((status, action))
    if expected is None:
        assert resp.status_code == 409, resp.json
        assert resp.json["code"] == "invalid_transition"
        assert status in resp.json["message"] and action in resp.json["message"]
        assert flow.get(c["id"])["status"] == status
        return
    if expected == "deleted":
        assert resp.status_code == 204
        assert flow.as_("editor").get(f"/api/campaigns/{c['id']}").status_code == 404
    else:
        assert resp.status_code == 200, resp.json
        assert resp.json["status"] == expected
        assert flow.get(c["id"])["status"] == expected
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "campaign",
                                                       AuditEvent.entity_id == str(c["id"]))
                              .order_by(AuditEvent.id.desc())).first()
    assert last.action == f"campaign.{'update' if action == 'edit' else action}"
    assert last.actor_id == flow.people[ACTOR[action]].id


def test_refused_transition_leaves_no_audit(flow, backend):
    c = flow.to("completed")
    before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    assert flow.act("editor", c["id"], "launch").status_code == 409
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == before


def test_launch_without_send_time_starts_sending(flow, backend):
    c = flow.to("approved")
    launched = flow.ok("editor", c["id"], "launch")
    assert launched["status"] == "sending" and launched["launched_at"] is not None


def test_launch_with_future_send_time_schedules(flow, backend):
    c = flow.to("approved", send_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    launched = flow.ok("approver", c["id"], "launch")
    assert launched["status"] == "scheduled"
    # The scheduler later starts it; nobody else can, and not twice.
    campaign = db.session.get(Campaign, c["id"])
    service.start(campaign)
    db.session.commit()
    assert flow.get(c["id"])["status"] == "sending"
    with pytest.raises(InvalidTransition):
        service.start(campaign)


def test_launch_after_the_send_time_passed_starts_at_once(flow, backend, monkeypatch):
    c = flow.to("approved", send_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    later = datetime.now(UTC) + timedelta(hours=2)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    assert flow.ok("editor", c["id"], "launch")["status"] == "sending"


def test_launch_refused_before_approval(flow, backend):
    for status in ("draft", "pending_approval", "rejected"):
        c = flow.to(status)
        resp = flow.act("editor", c["id"], "launch")
        assert resp.status_code == 409 and resp.json["code"] == "invalid_transition"
        assert f"launch a campaign that is {status}" in resp.json["message"]


@pytest.mark.parametrize("status", STATUSES)
def test_system_transitions(flow, backend, status):
    """start (scheduled → sending) and complete (sending → completed) only from their source."""
    c = db.session.get(Campaign, flow.to(status)["id"])
    for action, source, target in (("start", "scheduled", "sending"),
                                   ("complete", "sending", "completed")):
        db.session.refresh(c)
        if c.status.value != source:
            with pytest.raises(InvalidTransition):
                getattr(service, action)(c)
            continue
        getattr(service, action)(c)
        db.session.commit()
        assert c.status == CampaignStatus(target)
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == f"campaign.{action}" and event.actor_id is None
