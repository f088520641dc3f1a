"""Stopping: pause mid-batch and resume, a link dropped mid-window, a refused bind, auto-pause
after gateway failures, validity and the send window."""

from __future__ import annotations

import time
from datetime import time as clock_time
from datetime import timedelta

from sqlalchemy import select

from dispatch.campaigns import notes, service
from dispatch.engine import clock, flags
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import AuditEvent, Campaign, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.sms import status
from scripts.harness import wait_for
from tests.helpers.factories import add_account
from tests.helpers.sms import counts, make_campaign, number, per_destination, queue_rows


def rows(campaign_id):
    db.session.rollback()
    return db.session.scalars(select(Message).where(Message.campaign_id == campaign_id)
                              .order_by(Message.id)).all()


def test_pause_stops_new_submits_after_what_was_claimed_and_resume_sends_the_rest_once(
        app, redis, smsc, editor, smpp, backend):
    account = add_account(smsc, tps=25, window=5)  # throttled: the batch takes a few seconds
    c = make_campaign(editor)
    queue_rows(c, account, 60)
    smpp()
    assert wait_for(lambda: len(smsc.received()) >= 10)
    db.session.rollback()
    service.pause(db.session.get(Campaign, c.id), actor=editor)
    db.session.commit()
    flags.set_stop(c.id, "paused")
    paused_at = time.time()
    # What was claimed before the stop still goes; nothing more is claimed. Counted at the
    # stand-in rather than timed (at 25/s it takes under 2 s, unless the machine is loaded):
    # at most the two chunks the runner may hold (a chunk: half a second of the TPS, at most
    # two windows), and once none is `sending` any more, nothing else arrives.
    assert wait_for(lambda: "sending" not in counts(c.id), timeout=20), counts(c.id)
    received = smsc.received()
    assert len([r for r in received if r.at > paused_at]) <= 2 * min(2 * 5, 25 // 2), received
    by_status = counts(c.id)
    assert by_status["queued"] == 60 - len(received) > 0
    sent_rows = [m for m in rows(c.id) if m.status is not MessageStatus.QUEUED]
    assert {m.address[1:] for m in sent_rows} == {r.destination for r in received}

    db.session.rollback()
    service.resume(db.session.get(Campaign, c.id), actor=editor)
    db.session.commit()
    # The resume cleared the stop flag and woke the runner once committed: the rows are
    # claimed from the ledger again, nothing enqueued for them.
    assert wait_for(lambda: counts(c.id)["delivered"] == 60, timeout=15), counts(c.id)
    assert set(per_destination(smsc).values()) == {1} and len(per_destination(smsc)) == 60


def test_link_dropped_mid_window_leaves_those_rows_unknown(app, redis, smsc, account, campaign,
                                                           smpp, backend):
    smsc.set(resp_delay=0.6, receipt_delay=1.0)
    queue_rows(campaign, account, 30)
    smpp()
    assert wait_for(lambda: len(smsc.received()) >= 10)
    smsc.set(resp_delay=0.0)
    assert smsc.drop() == 1
    in_flight = {r.destination for r in smsc.received()}
    assert wait_for(lambda: counts(campaign.id)["delivered"] + counts(campaign.id)["unknown"]
                    == 30, timeout=15), counts(campaign.id)
    unknown = [m for m in rows(campaign.id) if m.status is MessageStatus.UNKNOWN]
    assert len(unknown) == 10 and {m.reason for m in unknown} == {"link_lost"}
    assert {m.address[1:] for m in unknown} == in_flight
    assert set(per_destination(smsc).values()) == {1}  # never resent


def test_wrong_password_shows_auth_failed_and_rows_stay_queued(app, redis, smsc, editor, smpp,
                                                               backend):
    account = add_account(smsc, password="wrong")
    c = make_campaign(editor)
    queue_rows(c, account, 5)
    smpp()

    def auth_failed():
        return [r for r in status.read(get_redis()) if r["state"] == "auth_failed"]

    (bind,) = wait_for(auth_failed)
    assert bind["account"] == "viettel" and "ESME_RINVPASWD" in bind["detail"]
    assert status.problems(status.read(get_redis())) == [
        "viettel: auth_failed (ESME_RINVPASWD: Invalid password)"]
    time.sleep(1.5)  # the runner looks again every second: no bind, nothing claimed
    assert counts(c.id) == {"queued": 5}
    assert {m.attempts for m in rows(c.id)} == {0}
    assert smsc.stats()["bind_refused"] >= 1 and smsc.received() == []


def test_auto_pause_after_consecutive_gateway_failures(app, redis, smsc, account, editor,
                                                       smpp, backend, monkeypatch):
    monkeypatch.setitem(app.config, "SMPP_AUTO_PAUSE_FAILURES", 5)
    c = make_campaign(editor)
    queue_rows(c, account, 100)
    smsc.set(reject={number(i)[1:]: 0x45 for i in range(100)})
    smpp()

    def paused():
        db.session.rollback()
        return db.session.get(Campaign, c.id).status.value == "paused"

    assert wait_for(paused)
    time.sleep(0.3)
    c = db.session.get(Campaign, c.id)
    code, values = notes.read(c.pause_reason) or ("", {})
    assert code == "gateway_failures" and int(values["count"]) >= 5
    assert values["last"] == "ESME_RSUBMITFAIL"
    by_status = counts(c.id)
    assert by_status["failed"] >= 5 and by_status["queued"] > 50
    assert set(by_status) == {"failed", "queued"}
    failed = [m for m in rows(c.id) if m.status is MessageStatus.FAILED]
    assert {(m.reason, m.error_code) for m in failed} == {("ESME_RSUBMITFAIL", "0x45")}
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "campaign.pause")).one()
    assert event.actor_id is None and event.reason == c.pause_reason
    assert not flags.may_send(c.id)


def test_rows_past_validity_are_not_claimed_and_outside_the_window_stay_queued(
        app, redis, smsc, account, editor, smpp, backend):
    old = make_campaign(editor, launched_at=utcnow() - timedelta(hours=25))
    hour = (utcnow() + timedelta(hours=7)).hour  # local: the window below excludes it
    closed = make_campaign(editor, window_start=clock_time((hour + 2) % 24, 0),
                           window_end=clock_time((hour + 3) % 24, 0), title="closed")
    queue_rows(old, account, 3)
    queue_rows(closed, account, 3, start=10)
    smpp()
    time.sleep(1.5)  # the runner has looked at the ledger more than once
    assert counts(old.id) == {"queued": 3} and counts(closed.id) == {"queued": 3}
    assert {m.attempts for m in rows(old.id) + rows(closed.id)} == {0}
    assert smsc.received() == []
    # The clock expires what validity ended for; the closed window's rows wait for it to open.
    assert clock.tick(app.config).get("expired") == 3
    assert counts(old.id) == {"expired": 3}
    assert {m.reason for m in rows(old.id)} == {"validity_ended"}
    assert counts(closed.id) == {"queued": 3}


def test_a_big_claim_is_handed_a_window_at_a_time_so_a_pause_stops_it_within_the_window(
        app, redis, smsc, editor, smpp, backend):
    # TPS 10,000, window 10: one claim takes 500 rows (dispatch.sms.links.claim_size), all 300
    # of the campaign; the sessions get them 10 at a time, at most 20 held (`hold`).
    account = add_account(smsc, window=10)
    smsc.set(resp_delay=0.05)  # about 200 a second: the pause lands mid-claim
    c = make_campaign(editor)
    queue_rows(c, account, 300)
    smpp()
    assert wait_for(lambda: len(smsc.received()) >= 30)
    assert counts(c.id).get("queued", 0) == 0  # claimed in one chunk, not sent yet
    flags.set_stop(c.id, "paused")
    db.session.rollback()
    service.pause(db.session.get(Campaign, c.id), actor=editor)
    db.session.commit()
    at_stop = len(smsc.received())
    # What the sessions held goes (at most two windows), and what the flag's 50 ms of trust
    # let through (10 at this rate); the rest of the claim goes back to `queued`.
    assert wait_for(lambda: "sending" not in counts(c.id), timeout=20), counts(c.id)
    after = len(smsc.received()) - at_stop
    assert after <= 2 * 10 + 10, after
    by_status = counts(c.id)
    assert by_status["queued"] == 300 - len(smsc.received()) > 200, by_status
    smsc.set(resp_delay=0.0)
    db.session.rollback()
    service.resume(db.session.get(Campaign, c.id), actor=editor)
    db.session.commit()
    assert wait_for(lambda: counts(c.id)["delivered"] == 300, timeout=20), counts(c.id)
    assert set(per_destination(smsc).values()) == {1} and len(per_destination(smsc)) == 300
