"""The clock: scheduled starts, expiry, lost claims, nothing for SMS after a Redis loss,
completion."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from dispatch.engine import clock, ledger, progress
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
from dispatch.models.common import utcnow
from tests.helpers.engine import launched, work
from tests.helpers.factories import add_account, add_contacts

S = MessageStatus


def statuses(c: Campaign) -> list[str]:
    return sorted(s.value for s in db.session.scalars(
        select(Message.status).where(Message.campaign_id == c.id)))


def numbers(n: int) -> list[str]:
    return [f"+8496{i:07d}" for i in range(n)]


def test_scheduled_campaign_starts_on_time(engine_app, people, backend):
    add_account()
    lst = add_contacts("A", numbers(2))
    c = launched(people, audience={"lists": [lst.id]},
                 send_at=utcnow() + timedelta(hours=1))
    assert c.status is CampaignStatus.SCHEDULED
    assert clock.tick(engine_app.config) == {}
    db.session.execute(update(Campaign).where(Campaign.id == c.id)
                       .values(send_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert clock.tick(engine_app.config)["started"] == 1
    work()
    db.session.expire_all()
    assert statuses(c) == ["queued", "queued"]


def test_lost_claims_become_unknown_and_receipts_that_never_come_too(engine_app, people,
                                                                     backend):
    add_account()
    lst = add_contacts("A", numbers(3))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)))
    ledger.claim(ids[:2])
    ledger.move(ids[:1], S.SUBMITTED)
    db.session.commit()
    long_ago = utcnow() - timedelta(days=3)
    db.session.execute(update(Message).where(Message.id.in_(ids[:2]))
                       .values(sending_at=long_ago, submitted_at=long_ago))
    db.session.commit()
    done = clock.tick(engine_app.config)
    assert done["claim_lost"] == 1 and done["no_receipt"] == 1
    assert statuses(c) == ["queued", "unknown", "unknown"]


def test_sms_rows_need_nothing_from_the_clock_after_redis_loses_its_data(engine_app, people,
                                                                         backend):
    """SMS rows are claimed from the ledger by the smpp process: a Redis that lost its data
    loses no SMS work, and the clock enqueues nothing for them."""
    account = add_account()
    lst = add_contacts("A", numbers(4))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    get_redis().flushdb()  # Redis restarted empty
    config = dict(engine_app.config, ORPHAN_AFTER_SECONDS=0)
    assert "requeued_jobs" not in clock.tick(config)
    assert statuses(c) == ["queued"] * 4
    from rq import Queue

    assert Queue(f"sms.{account.id}", connection=get_redis()).count == 0
    assert get_redis().keys("rq:queue:sms*") == []


def test_expiry_then_completion(engine_app, people, backend):
    add_account()
    lst = add_contacts("A", numbers(3))
    c = launched(people, audience={"lists": [lst.id]}, validity_hours=1)
    work()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)))
    ledger.claim(ids[:1])
    ledger.move(ids[:1], S.SUBMITTED)
    ledger.move(ids[:1], S.DELIVERED)
    db.session.execute(update(Campaign).where(Campaign.id == c.id)
                       .values(launched_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    done = clock.tick(engine_app.config)
    assert done["expired"] == 2 and done["completed"] == 1
    db.session.expire_all()
    assert db.session.get(Campaign, c.id).status is CampaignStatus.COMPLETED
    figures = progress.compute(db.session.get(Campaign, c.id))
    assert figures["by_status"] == {"delivered": 1, "expired": 2}
    assert figures["percent_done"] == 100.0 and figures["unsent"] == 0


def test_progress_endpoint_counts_and_caches(engine_app, people, api, backend):
    add_account()
    lst = add_contacts("A", numbers(5))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    r = api.as_(people["editor"]).get(f"/api/campaigns/{c.id}/progress")
    assert r.status_code == 200
    assert r.json["total"] == 5 and r.json["by_status"] == {"queued": 5}
    assert r.json["by_operator"] == {"viettel": {"queued": 5}}
    assert api.get(f"/api/campaigns/{c.id}/progress").status_code == 401


def test_stale_progress_is_served_while_another_reader_recomputes(engine_app, people, backend):
    add_account()
    lst = add_contacts("A", numbers(3))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    first = progress.progress(c)
    assert first["by_status"] == {"queued": 3}
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)))
    ledger.claim(ids)
    db.session.commit()
    redis = get_redis()
    stale = dict(first, _computed=0)  # long past its freshness
    import json

    redis.set(keys.progress(c.id), json.dumps(stale))
    redis.set(keys.progress_lock(c.id), 1)  # someone else is recomputing
    assert progress.progress(c)["by_status"] == {"queued": 3}
    redis.delete(keys.progress_lock(c.id))
    assert progress.progress(c)["by_status"] == {"sending": 3}


def test_accepted_pushes_are_final_and_never_age_into_unknown(engine_app, people, backend):
    add_account()
    lst = add_contacts("A", numbers(1))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    sms_id = db.session.scalar(select(Message.id).where(Message.campaign_id == c.id))
    db.session.add(Message(campaign_id=c.id, channel="push", recipient_id=7,
                           status=S.SUBMITTED, submitted_at=utcnow() - timedelta(days=5)))
    ledger.claim([sms_id])
    ledger.move([sms_id], S.SUBMITTED)
    ledger.move([sms_id], S.DELIVERED)
    db.session.commit()
    done = clock.tick(engine_app.config)
    assert "no_receipt" not in done and done["completed"] == 1
    assert statuses(c) == ["delivered", "submitted"]
    assert progress.compute(db.session.get(Campaign, c.id))["percent_done"] == 100.0
