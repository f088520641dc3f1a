"""Queued rows → send_batch on a real RQ worker in the smpp process shape → the stand-in SMSC
over real sockets → receipts → the ledger."""

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
    ids = queue_rows(campaign, account, 30)
    smpp()
    enqueue.enqueue_sms(campaign, account.id, ids)
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
    plain_ids = queue_rows(plain, account, 2, start=100)
    smpp()
    enqueue.enqueue_sms(ucs2, account.id, ids)
    enqueue.enqueue_sms(plain, account.id, plain_ids)
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
    ids = queue_rows(campaign, account, 12)
    smpp()
    enqueue.enqueue_sms(campaign, account.id, ids)
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
    ids = queue_rows(campaign, account, 5)
    smpp()
    enqueue.enqueue_sms(campaign, account.id, ids)
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


def test_a_job_run_twice_sends_nothing_twice(app, redis, smsc, account, campaign, smpp,
                                             backend):
    ids = queue_rows(campaign, account, 40)
    enqueue.enqueue_sms(campaign, account.id, ids)
    enqueue.enqueue_sms(campaign, account.id, ids[10:30])
    enqueue.enqueue_sms(campaign, account.id, ids)
    smpp()
    assert wait_for(lambda: counts(campaign.id)["delivered"] == 40), counts(campaign.id)
    time.sleep(0.3)
    assert set(per_destination(smsc).values()) == {1}
    assert len(per_destination(smsc)) == 40


def test_hex_ids_in_responses_match_decimal_ids_in_receipts(app, redis, smsc, editor, smpp,
                                                            backend):
    from tests.helpers.factories import add_account
    from tests.helpers.sms import make_campaign

    smsc.set(id_format="hex", receipt_id_format="dec")
    account = add_account(smsc, id_format="hex")
    c = make_campaign(editor)
    ids = queue_rows(c, account, 20)
    smpp()
    enqueue.enqueue_sms(c, account.id, ids)
    assert wait_for(lambda: counts(c.id)["delivered"] == 20), counts(c.id)
    record = smsc.received(number(0)[1:])[0]
    part = db.session.scalars(select(MessagePart).where(MessagePart.message_id == ids[0])).one()
    assert part.smsc_id == str(int(record.message_id, 16))
