"""Retrying failed/unknown messages: explicit, audited, only those rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.engine import clock, ledger
from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, CampaignStatus, Message, MessageStatus
from tests.helpers.engine import launched, work
from tests.helpers.factories import add_account, add_contacts

S = MessageStatus


@pytest.fixture()
def finished(engine_app, people):
    add_account()
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(4)])
    c = launched(people, audience={"lists": [lst.id]})
    work()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)
                                  .order_by(Message.id)))
    ledger.claim(ids)
    ledger.move(ids[:2], S.SUBMITTED)
    ledger.move(ids[:1], S.DELIVERED)
    ledger.move(ids[1:2], S.FAILED, error_code="0x0000000b")
    ledger.move(ids[2:3], S.UNKNOWN)
    ledger.move(ids[3:], S.FAILED)
    db.session.commit()
    clock.tick(engine_app.config)
    db.session.expire_all()
    assert db.session.get(Campaign, c.id).status is CampaignStatus.COMPLETED
    return c, ids


def test_retry_failed_requeues_only_failed_and_reopens(finished, api, people, backend):
    c, ids = finished
    r = api.as_(people["approver"]).post(f"/api/campaigns/{c.id}/retry",
                                         json={"statuses": ["failed"], "reason": "SMSC fixed"})
    assert r.status_code == 200, r.json
    assert r.json["messages"] == 2 and r.json["campaign"]["status"] == "sending"
    db.session.expire_all()
    got = dict(db.session.execute(select(Message.id, Message.status)
                                  .where(Message.campaign_id == c.id)).all())
    assert [got[i].value for i in ids] == ["delivered", "queued", "unknown", "queued"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.retry"))
    assert next(event).details["messages"] == 2


def test_retry_is_refused_to_editors_and_needs_a_reason(finished, api, people, backend):
    c, _ = finished
    r = api.as_(people["editor"]).post(f"/api/campaigns/{c.id}/retry",
                                       json={"statuses": ["unknown"], "reason": "x"})
    assert r.status_code == 403
    r = api.as_(people["approver"]).post(f"/api/campaigns/{c.id}/retry",
                                         json={"statuses": ["delivered"], "reason": "x"})
    assert r.status_code == 422 and "statuses.0" in r.json["errors"]
    r = api.as_(people["approver"]).post(f"/api/campaigns/{c.id}/retry",
                                         json={"statuses": ["unknown"]})
    assert r.status_code == 422 and "reason" in r.json["errors"]
