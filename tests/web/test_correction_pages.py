"""Corrections (đính chính) on the pages and the API: who may start one, of what, the links both
ways on the campaign pages and reports, and cancelling a still-sending original first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import (
    AuditEvent,
    Campaign,
    CampaignStatus,
    ListMember,
    Message,
    MessageStatus,
)
from tests.helpers import web as helpers
from tests.helpers.engine import freeze_now, submit
from tests.helpers.sms import make_campaign

S = MessageStatus
# One recipient per ledger status that matters: who was sent the original and who was not.
FATES = (S.DELIVERED, S.SUBMITTED, S.UNKNOWN, S.FAILED, S.SUPPRESSED, S.QUEUED)


def _sent_campaign(people: dict[str, Any], status: CampaignStatus) -> tuple[Campaign, list[int]]:
    lst = helpers.contact_list(numbers=len(FATES))
    contacts = sorted(db.session.scalars(
        select(ListMember.contact_id).where(ListMember.list_id == lst.id)))
    c = make_campaign(people["editor"], title="Lịch tiêm chủng", status=status,
                      audience={"lists": [lst.id]})
    for contact_id, fate in zip(contacts, FATES, strict=True):
        db.session.add(Message(campaign_id=c.id, channel="sms", recipient_id=contact_id,
                               address=f"+849{contact_id:08d}", status=fate,
                               operator="viettel"))
    db.session.commit()
    return c, contacts


def test_a_correction_is_linked_both_ways_and_freezes_the_sent_recipients(
        backend: str, app: Any, people: dict[str, Any], as_role: Any) -> None:
    original, _ = _sent_campaign(people, CampaignStatus.COMPLETED)
    editor = as_role("editor")
    page = editor.get(f"/campaigns/{original.id}").get_data(as_text=True)
    assert "data-correction-form" in page and "Tạo đính chính" in page
    assert 'name="cancel_original"' not in page  # completed: nothing to cancel
    r = editor.post(f"/campaigns/{original.id}/correction", {"only_delivered": ""})
    assert r.status_code == 302, r.get_data(as_text=True)
    fix = db.session.scalars(select(Campaign).where(Campaign.parent_id == original.id)).one()
    assert r.headers["Location"] == f"/campaigns/{fix.id}/edit"
    assert (fix.kind, fix.priority, fix.status) == ("correction", "urgent", CampaignStatus.DRAFT)
    assert fix.sms_text == "ĐÍNH CHÍNH: " + (original.sms_text or "")
    assert fix.sms_sender == original.sms_sender and fix.channels == original.channels
    composer = editor.get(f"/campaigns/{fix.id}/edit").get_data(as_text=True)
    assert f'data-correction-audience="{original.id}"' in composer
    assert 'name="lists"' not in composer  # the audience is the original's, not chosen
    r = editor.post(f"/campaigns/{fix.id}/edit", {
        "title": fix.title, "channels": "sms", "sms_sender": fix.sms_sender,
        "sms_text": "ĐÍNH CHÍNH: lịch tiêm chủng vào Chủ nhật", "window_start": "00:00",
        "window_end": "23:59", "validity_hours": "24", "priority": "urgent", "intent": "submit"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert freeze_now(fix.id) == "frozen"
    db.session.expire_all()
    fix = db.session.get(Campaign, fix.id)
    assert fix.status is CampaignStatus.PENDING_APPROVAL
    assert fix.audience == {"correction_of": original.id, "only_delivered": False, "lists": [],
                            "exclude_lists": [], "localities": [], "all_app_users": False}
    # Delivered, submitted and unknown were sent it; failed, suppressed and queued were not.
    assert fix.frozen_reach["sms"]["recipients"] == 3
    # Both ways, on the campaign pages and on the reports.
    approver = as_role("approver")
    review = approver.get(f"/approvals/{fix.id}")
    assert review.status_code == 200 and fix.title in review.get_data(as_text=True)
    for path, marker in ((f"/campaigns/{original.id}", f'data-correction="{fix.id}"'),
                         (f"/campaigns/{fix.id}", f'data-corrects="{original.id}"'),
                         (f"/campaigns/{original.id}/report", f'data-correction="{fix.id}"'),
                         (f"/campaigns/{fix.id}/report", f'data-corrects="{original.id}"')):
        html = approver.get(path).get_data(as_text=True)
        assert marker in html, path
        assert "Đính chính" in html


def test_only_delivered_and_refusals(backend: str, api: Any, people: dict[str, Any]) -> None:
    original, _ = _sent_campaign(people, CampaignStatus.SENDING)
    editor = api.as_(people["editor"])
    r = editor.post(f"/api/campaigns/{original.id}/correction", json={"only_delivered": True})
    assert r.status_code == 201, r.json
    fix = db.session.get(Campaign, r.json["id"])
    submit(fix, actor=people["editor"])
    assert fix.frozen_reach["sms"]["recipients"] == 1
    draft = make_campaign(people["editor"], status=CampaignStatus.DRAFT)
    r = editor.post(f"/api/campaigns/{draft.id}/correction", json={})
    assert r.status_code == 409 and r.json["code"] == "correction_not_sent", r.json
    test = make_campaign(people["editor"], kind="test", parent_id=original.id)
    r = editor.post(f"/api/campaigns/{test.id}/correction", json={})
    assert r.status_code == 409 and r.json["code"] == "correction_not_allowed", r.json
    # An editor may not cancel: the cancel-first option is refused, nothing made.
    before = db.session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
    r = editor.post(f"/api/campaigns/{original.id}/correction", json={"cancel_original": True})
    assert r.status_code == 403, r.json
    db.session.rollback()
    assert db.session.scalar(select(Campaign.id).order_by(Campaign.id.desc())) == before
    assert db.session.get(Campaign, original.id).status is CampaignStatus.SENDING


def test_cancel_the_still_sending_original_first(
        backend: str, people: dict[str, Any], as_role: Any) -> None:
    original, _ = _sent_campaign(people, CampaignStatus.SENDING)
    both = as_role("editor_approver")
    page = both.get(f"/campaigns/{original.id}").get_data(as_text=True)
    assert 'name="cancel_original"' in page
    r = both.post(f"/campaigns/{original.id}/correction",
                  {"cancel_original": "on", "reason": "Sai ngày"})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    original = db.session.get(Campaign, original.id)
    assert original.status is CampaignStatus.CANCELLED
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "campaign.cancel", AuditEvent.entity_id == str(original.id))).one()
    assert event.reason == "Sai ngày" and event.actor_id == people["editor_approver"].id
    queued = db.session.scalars(select(Message.status).where(
        Message.campaign_id == original.id, Message.status == S.CANCELLED)).all()
    assert len(queued) == 1  # the unsent row, cancelled by the existing path
    assert db.session.scalars(select(Campaign).where(
        Campaign.parent_id == original.id)).one().kind == "correction"
    # The original is no longer sending: asking to cancel it again is refused with a code.
    r = both.post(f"/campaigns/{original.id}/correction", {"cancel_original": "on"})
    assert r.status_code == 302
    assert "Chỉ có thể đính chính" in both.get(f"/campaigns/{original.id}").get_data(as_text=True)
