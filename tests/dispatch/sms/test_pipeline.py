"""Queued rows → claimed from the ledger by the account's runner in the smpp process shape → the
stand-in SMSC over real sockets → receipts → the ledger."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from dispatch.engine import enqueue
from dispatch.extensions import db
from dispatch.models import MessagePart, RawReceipt
from scripts.harness import wait_for
from tests.helpers.sms import counts, number, per_destination, queue_rows


def test_queued_rows_are_submitted_then_delivered(app, redis, smsc, account, campaign, smpp,
                                                  backend):
    queue_rows(campaign, account, 30)
    smpp()
    assert wait_for(lambda: counts(campaign.id)["delivered"] == 30), counts(campaign.id)
    parts = db.session.scalars(select(MessagePart)).all()
    assert len(parts) == 30 and all(p.smsc_id and p.account_id == account.id for p in parts)
    assert all(p.status.value == "delivered" and p.receipt_at for p in parts)
    raws = db.session.scalars(select(RawReceipt)).all()
    assert len(raws) == 30 and all(r.part_id is not None for r in raws)
    sent = per_destination(smsc)
    assert set(sent) == {number(i)[1:] for i in range(30)} and set(sent.values()) == {1}
    record = smsc.received(number(0)[1:])[0]
    assert record.source == "LOA" and (record.source_ton, record.source_npi) == (5, 0)
    assert record.validity_period.endswith("R")  # the campaign's validity, relative


LONG = "Kính mời cử tri tham gia bầu cử đại biểu Quốc hội và Hội đồng nhân dân các cấp vào Chủ nhật"


def test_multipart_parts_each_get_an_id_and_roll_up(app, redis, smsc, account, editor, smpp,
                                                     backend):
    from tests.helpers.sms import make_campaign

    ucs2 = make_campaign(editor, sms_text=LONG)
    plain = make_campaign(editor, sms_text=LONG, sms_plain=True, title="khong dau")
    ids = queue_rows(ucs2, account, 4)
    queue_rows(plain, account, 2, start=100)
    smpp()
    assert wait_for(lambda: counts(ucs2.id)["delivered"] == 4 and
                    counts(plain.id)["delivered"] == 2), (counts(ucs2.id), counts(plain.id))
    parts = db.session.scalars(select(MessagePart).where(MessagePart.message_id.in_(ids))
                               .order_by(MessagePart.message_id, MessagePart.part_no)).all()
    assert [p.part_no for p in parts] == [1, 2] * 4
    assert len({p.smsc_id for p in parts}) == 8
    from dispatch.models import Message

    assert {m.parts for m in db.session.scalars(select(Message))} == {2, 1}
    got = smsc.received(number(0)[1:])
    assert len(got) == 2 and got[0].udh[3] == got[1].udh[3] and got[0].data_coding == 8
    assert "".join(r.text for r in got) == LONG
    (plain_record,) = smsc.received(number(100)[1:])
    assert plain_record.data_coding == 0 and plain_record.text.startswith("Kinh moi cu tri")


def test_receipt_before_its_response_is_matched(app, redis, smsc, account, campaign, smpp,
                                                 backend):
    smsc.set(receipt_before_resp=True, resp_delay=0.1)
    queue_rows(campaign, account, 12)
    smpp()
    assert wait_for(lambda: counts(campaign.id)["delivered"] == 12), counts(campaign.id)
    assert all(r.part_id for r in db.session.scalars(select(RawReceipt)))


def test_a_receipt_not_stored_is_refused_and_comes_again(app, redis, smsc, account, campaign,
                                                          smpp, monkeypatch, backend):
    from dispatch.sms import receipts
    real = receipts.store_batch
    calls = {"n": 0}

    def flaky(account_id, events):
        calls["n"] += 1
        if calls["n"] == 1:  # the database went away: nothing of this batch is stored
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(account_id, events)

    monkeypatch.setattr(receipts, "store_batch", flaky)
    queue_rows(campaign, account, 5)
    smpp()
    assert wait_for(lambda: counts(campaign.id)["delivered"] == 5), counts(campaign.id)
    assert smsc.wait_for(lambda stats: stats.get("receipts_acked") == 5)  # acked once stored
    assert smsc.stats()["receipts_refused"] >= 1


def test_mo_opt_out_keyword_lands_in_opt_outs_and_audit(app, redis, smsc, account, smpp,
                                                         backend):
    from dispatch.models import AuditEvent, InboundMessage, OptOut

    smpp()
    smsc.send_mo("loa", "84912000001", "8088", " Hủy ")
    smsc.send_mo("loa", "84912000002", "8088", "Cam on")

    def inbound():
        db.session.rollback()
        return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()

    rows = wait_for(lambda: len(inbound()) == 2 and inbound())
    assert [(r.source, r.text.strip(), r.handled_as) for r in rows] == [
        ("84912000001", "Hủy", "opt_out"), ("84912000002", "Cam on", "ignored")]
    (opt_out,) = db.session.scalars(select(OptOut)).all()
    assert (opt_out.channel, opt_out.address, opt_out.source) == ("sms", "+84912000001",
                                                                  "keyword")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "optout.add")).one()
    assert event.actor_id is None and event.details["address"] == "+84912000001"
    # Answered once committed: the answer reaches the SMSC a moment after the rows are seen.
    assert smsc.wait_for(lambda stats: stats.get("mos_acked") == 2)


def test_two_processes_on_one_account_send_each_row_once(app, redis, smsc, editor, smpp,
                                                        backend):
    """Two smpp processes (hosts) serving the same account share its rows: each claims
    different ones (FOR UPDATE SKIP LOCKED on PostgreSQL), and between them every row is sent
    exactly once, through the throttle they share in Redis."""
    from tests.helpers.factories import add_account
    from tests.helpers.sms import make_campaign

    account = add_account(smsc, tps=400, window=5)
    c = make_campaign(editor)
    first, second = smpp(), smpp()
    runners = [first.runners[account.id], second.runners[account.id]]
    assert wait_for(lambda: all(r.link.problem() is None for r in runners))
    queue_rows(c, account, 300)
    enqueue.wake_sms([account.id])
    assert wait_for(lambda: counts(c.id)["delivered"] == 300, timeout=30), counts(c.id)
    time.sleep(0.3)
    sent = per_destination(smsc)
    assert len(sent) == 300 and set(sent.values()) == {1}
    claimed = [r.sender.counts["claimed"] for r in runners]
    assert sum(claimed) == 300 and min(claimed) > 0, claimed


def test_urgent_rows_overtake_bulk_rows_on_the_same_account(app, redis, smsc, editor, smpp,
                                                            backend):
    from tests.helpers.factories import add_account
    from tests.helpers.sms import make_campaign

    account = add_account(smsc, tps=100, window=5)  # throttled: the bulk takes a few seconds
    bulk = make_campaign(editor, title="bulk")
    queue_rows(bulk, account, 400)
    smpp()
    assert wait_for(lambda: len(smsc.received()) >= 50)
    urgent = make_campaign(editor, title="urgent", priority="urgent")
    urgent_ids = queue_rows(urgent, account, 30, start=1000)
    woken_at = time.time()
    enqueue.wake_sms([account.id])
    assert wait_for(lambda: counts(urgent.id)["delivered"] == 30, timeout=20), counts(urgent.id)
    # The urgent rows did not queue behind the bulk: between their being queued and the last
    # of them at the stand-in, at most the bulk rows already claimed went (two chunks of 10)
    # and one more chunk claimed before the runner read the campaigns again. Counted, not
    # timed: a loaded machine lets the bulk send more meanwhile only if the urgent rows wait.
    received = smsc.received()
    urgent_at = [r.at for r in received if r.destination >= number(1000)[1:]]
    bulk_between = [r for r in received if r.destination < number(1000)[1:]
                    and woken_at < r.at <= max(urgent_at)]
    assert len(urgent_at) == 30 and len(bulk_between) <= 3 * 10, len(bulk_between)
    assert any(r.at > max(urgent_at) for r in received)  # the bulk still had rows waiting
    assert len(urgent_ids) == 30
    assert wait_for(lambda: counts(bulk.id)["delivered"] == 400, timeout=30), counts(bulk.id)
    assert set(per_destination(smsc).values()) == {1}


def test_hex_ids_in_responses_match_decimal_ids_in_receipts(app, redis, smsc, editor, smpp,
                                                            backend):
    from tests.helpers.factories import add_account
    from tests.helpers.sms import make_campaign

    smsc.set(id_format="hex", receipt_id_format="dec")
    account = add_account(smsc, id_format="hex")
    c = make_campaign(editor)
    ids = queue_rows(c, account, 20)
    smpp()
    assert wait_for(lambda: counts(c.id)["delivered"] == 20), counts(c.id)
    record = smsc.received(number(0)[1:])[0]
    part = db.session.scalars(select(MessagePart).where(MessagePart.message_id == ids[0])).one()
    assert part.smsc_id == str(int(record.message_id, 16))
