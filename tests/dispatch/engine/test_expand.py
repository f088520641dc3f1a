"""Launch → expand job → ledger rows and send jobs, through real RQ workers and Redis."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq import Queue
from sqlalchemy import func, select

from dispatch.engine import clock, enqueue, expand
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Contact, Message, MessageStatus, OptOut
from tests.helpers.engine import launched, ledger, numbers, work
from tests.helpers.factories import add_account, add_contacts

S = MessageStatus


def slow_first_batch(engine_app, people, monkeypatch,
                     meanwhile: Callable[[Campaign], None]) -> tuple[Campaign, list[int]]:
    """A launched campaign of 25 recipients, expanded in batches of 10 under a one-second
    heartbeat, whose first batch outlasts the heartbeat: `meanwhile(c)` runs then, before the
    batch is written. Returns the campaign and the sizes of the batches written so far."""
    monkeypatch.setitem(engine_app.config, "EXPAND_HEARTBEAT_SECONDS", 1)
    add_account()
    lst = add_contacts("A", numbers(0, 25))
    c = launched(people, audience={"lists": [lst.id]})
    monkeypatch.setattr(expand, "BATCH", 10)
    real_insert, inserts = expand._insert, []

    def slow_batch(rows):
        inserts.append(len(rows))
        if len(inserts) == 1:
            time.sleep(1.2)  # longer than the heartbeat
            meanwhile(c)
        return real_insert(rows)

    monkeypatch.setattr(expand, "_insert", slow_batch)
    return c, inserts


def queued_job_ids(account_id: int) -> list[list[int]]:
    q = Queue(f"sms.{account_id}", connection=get_redis())
    return [job.args[2] for job in q.get_jobs()]


def test_expansion_writes_rows_applies_suppressions_and_enqueues(engine_app, people, backend):
    viettel = add_account()
    a = add_contacts("A", numbers(0, 6))
    b = add_contacts("B", numbers(4, 4))  # two shared with A: one row each
    mobi = add_contacts("Mobi", ["+84701234567"], operator="mobifone")  # no route
    excluded = add_contacts("Exclude", numbers(5, 1))
    db.session.add(OptOut(channel="sms", address=numbers(1, 1)[0], source="staff"))
    ported = db.session.query(Contact).filter_by(msisdn=numbers(2, 1)[0]).one()
    ported.operator_override = "vinaphone"  # ported away: Viettel's account does not carry it
    db.session.commit()
    c = launched(people, audience={"lists": [a.id, b.id, mobi.id],
                                   "exclude_lists": [excluded.id]})
    assert c.status is CampaignStatus.SENDING
    work()
    db.session.expire_all()
    c = db.session.get(Campaign, c.id)
    rows = ledger(c)
    assert len(rows) == 8  # 9 distinct numbers minus the excluded one
    assert numbers(5, 1)[0] not in rows
    assert rows[numbers(1, 1)[0]] == ("suppressed", "opt_out")
    assert rows[numbers(2, 1)[0]] == ("suppressed", "no_route")
    assert rows["+84701234567"] == ("suppressed", "no_route")
    queued = sorted(a for a, (st, _) in rows.items() if st == "queued")
    assert len(queued) == 5
    assert c.expanded_at is not None and c.expansion["duplicates_across_lists"] == 2
    assert c.expansion["queued"] == 5 and c.expansion["excluded"] == 1
    # SMS rows get no job: the smpp process claims them from the ledger, routed to the account.
    assert queued_job_ids(viettel.id) == [] and enqueue.live_jobs(c.id) == 0
    assert set(db.session.scalars(select(Message.account_id).where(
        Message.campaign_id == c.id, Message.status == S.QUEUED))) == {viettel.id}


def test_expansion_continues_after_a_crash_and_never_writes_twice(engine_app, people, backend,
                                                                  monkeypatch):
    add_account()
    lst = add_contacts("A", numbers(0, 25))
    c = launched(people, audience={"lists": [lst.id]})
    monkeypatch.setattr(expand, "BATCH", 10)
    real_insert = expand._insert
    calls = {"n": 0}

    def dying_insert(rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real_insert(rows)

    monkeypatch.setattr(expand, "_insert", dying_insert)
    monkeypatch.setitem(engine_app.config, "EXPAND_HEARTBEAT_SECONDS", 1)
    with pytest.raises(RuntimeError):
        expand.expand(c.id)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Message.campaign_id == c.id)) == 10
    monkeypatch.setattr(expand, "_insert", real_insert)
    time.sleep(1.2)  # the failed run's heartbeat lapses: the clock would start it again now
    expand.expand(c.id)
    expand.expand(c.id)  # a second run after completion writes nothing
    db.session.expire_all()
    rows = db.session.scalars(select(Message.recipient_id).where(Message.campaign_id == c.id))
    ids = list(rows)
    assert len(ids) == 25 and len(set(ids)) == 25


def test_a_run_that_lost_its_expansion_to_another_stops_and_one_that_arrives_late_too(
        engine_app, people, backend, monkeypatch):
    # A batch outlasted the heartbeat and another run took the expansion meanwhile: the old
    # run gives way at its next batch instead of both expanding the same campaign; a job that
    # arrives while a run holds it stops at once.
    real_insert = expand._insert

    def another_run_takes_it(c: Campaign) -> None:
        assert enqueue.hold_expansion(c.id, "another run")

    c, inserts = slow_first_batch(engine_app, people, monkeypatch, another_run_takes_it)
    assert expand.expand(c.id) == {"superseded": True}
    assert inserts == [10]  # it stopped before its second batch
    assert expand.expand(c.id) == {"superseded": True}  # "another run" still holds it
    assert inserts == [10]
    monkeypatch.setattr(expand, "_insert", real_insert)
    enqueue.let_go_expansion(c.id, "another run")  # it ended (or its heartbeat lapsed)
    done = expand.expand(c.id)  # continues from the checkpoint
    assert done["queued"] == 25
    db.session.expire_all()
    ids = list(db.session.scalars(select(Message.recipient_id)
                                  .where(Message.campaign_id == c.id)))
    assert len(ids) == 25 and len(set(ids)) == 25


def test_a_slow_run_keeps_its_expansion_when_the_clock_enqueued_another_meanwhile(
        engine_app, people, backend, monkeypatch):
    # The clock saw the heartbeat lapse and enqueued the expansion again: the run is alive, so
    # it takes the expansion back at its next batch and finishes; the clock's job, when a
    # worker takes it, finds the work done.
    restarted = []

    def the_clock_ticks(c: Campaign) -> None:
        restarted.append(clock.tick(engine_app.config).get("expand_restarted"))

    c, inserts = slow_first_batch(engine_app, people, monkeypatch, the_clock_ticks)
    done = expand.expand(c.id)
    assert restarted == [1]
    assert inserts == [10, 10, 5] and done["queued"] == 25
    assert Queue("default", connection=get_redis()).count == 2  # the launch's and the clock's
    work()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Message.campaign_id == c.id)) == 25


def test_recipient_cap_counts_other_campaigns(engine_app, people, backend):
    add_account()
    lst = add_contacts("A", numbers(0, 3))
    for _ in range(3):
        launched(people, audience={"lists": [lst.id]})
        work()
    fourth = launched(people, audience={"lists": [lst.id]})
    work()
    assert {v for v in ledger(fourth).values()} == {("suppressed", "recipient_cap")}


def test_cancel_marks_unsent_rows_cancelled(engine_app, people, api, backend):
    add_account()
    lst = add_contacts("A", numbers(0, 5))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    r = api.as_(people["approver"]).post(f"/api/campaigns/{c.id}/cancel",
                                         json={"reason": "wrong date"})
    assert r.status_code == 200, r.json
    assert {v for v in ledger(c).values()} == {("cancelled", "cancelled")}
    from dispatch.engine import flags

    assert not flags.may_send(c.id)
