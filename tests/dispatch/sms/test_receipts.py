"""Receipts matched to parts and rolled up to messages; MO keywords. Storage only, no sockets."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import InboundMessage, Message, MessagePart, MessageStatus, OptOut, RawReceipt
from dispatch.models.common import utcnow
from dispatch.sms import receipts
from dispatch.sms.writer import ReceiptWriter
from gateways.results import Inbound, Receipt
from scripts.harness import wait_for
from tests.helpers.sms import make_campaign

S = MessageStatus
ACCOUNT = 7
HOUR = timedelta(hours=1)


@pytest.fixture()
def campaign(editor):
    return make_campaign(editor)


def submitted(campaign, parts, *, status=S.SUBMITTED, recipient=1):
    """A submitted message whose parts have the SMSC ids `parts` (a list of strings)."""
    m = Message(campaign_id=campaign.id, channel="sms", recipient_id=recipient,
                address="+84912345678", status=status, parts=len(parts), account_id=ACCOUNT)
    db.session.add(m)
    db.session.flush()
    for number, smsc_id in enumerate(parts, start=1):
        db.session.add(MessagePart(message_id=m.id, part_no=number, account_id=ACCOUNT,
                                   smsc_id=smsc_id, status=S.SUBMITTED, submitted_at=utcnow()))
    db.session.commit()
    return m.id


def receive(*pairs):
    """Store receipts given as (smsc_id, state[, err]) the way the writer does."""
    events = [Receipt(p[0], p[1], p[2] if len(p) > 2 else None, raw=f"id:{p[0]} stat:{p[1]}")
              for p in pairs]
    left = receipts.store_batch(ACCOUNT, events)
    db.session.commit()
    return left


def message(message_id):
    db.session.expire_all()
    return db.session.get(Message, message_id)


@pytest.mark.parametrize(("states", "expected", "reason", "error"), [
    (["DELIVRD", "DELIVRD"], S.DELIVERED, None, None),
    (["DELIVRD", "UNDELIV"], S.PARTIAL, "UNDELIV", "001"),
    (["UNDELIV", "EXPIRED"], S.FAILED, "UNDELIV", "001"),
    (["EXPIRED", "EXPIRED"], S.EXPIRED, "EXPIRED", "001"),
    (["UNKNOWN", "DELIVRD"], S.PARTIAL, "UNKNOWN", "001"),
    (["DELIVRD", "ENROUTE"], S.SUBMITTED, None, None),
    (["ACCEPTD", "ENROUTE"], S.SUBMITTED, None, None),
])
def test_parts_roll_up_to_one_status(campaign, states, expected, reason, error, backend):
    mid = submitted(campaign, ["A1", "A2"])
    receive(*[(f"A{n}", state, "000" if state == "DELIVRD" else "001")
              for n, state in enumerate(states, start=1)])
    m = message(mid)
    assert (m.status, m.reason, m.error_code) == (expected, reason, error)


@pytest.mark.parametrize(("receipts_in_order", "expected", "reason", "error"), [
    ([("DELIVRD", "000")], S.DELIVERED, None, None),
    ([("UNDELIV", "005")], S.FAILED, "UNDELIV", "005"),
    ([("REJECTD", None)], S.FAILED, "REJECTD", None),
    ([("EXPIRED", "012")], S.EXPIRED, "EXPIRED", "012"),
    ([("UNKNOWN", "000")], S.UNKNOWN, "UNKNOWN", "000"),
    ([("ENROUTE", None)], S.SUBMITTED, None, None),
    ([("ENROUTE", None), ("DELIVRD", "000")], S.DELIVERED, None, None),
    # Two final words on one part in one batch: the first counts, for the part and the message.
    ([("UNDELIV", "005"), ("DELIVRD", "000")], S.FAILED, "UNDELIV", "005"),
])
def test_a_single_part_message_takes_its_receipts_status(campaign, receipts_in_order, expected,
                                                          reason, error, backend):
    mid = submitted(campaign, ["S1"])
    other = submitted(campaign, ["S2"], recipient=2)  # same batch, its own outcome
    receive(*[("S1", state, err) for state, err in receipts_in_order], ("S2", "DELIVRD", "000"))
    m = message(mid)
    assert (m.status, m.reason, m.error_code) == (expected, reason, error)
    part = db.session.scalars(select(MessagePart).where(MessagePart.message_id == mid)).one()
    assert part.status is expected
    assert message(other).status is S.DELIVERED


def test_pending_part_keeps_the_message_submitted_until_its_receipt(campaign, backend):
    mid = submitted(campaign, ["B1", "B2", "B3"])
    receive(("B1", "DELIVRD"), ("B3", "DELIVRD"))
    assert message(mid).status is S.SUBMITTED
    receive(("B2", "DELIVRD"))
    assert message(mid).status is S.DELIVERED


def test_a_duplicate_receipt_changes_nothing(campaign, backend):
    mid = submitted(campaign, ["C1"])
    receive(("C1", "DELIVRD", "000"))
    finished = message(mid).finished_at
    receive(("C1", "DELIVRD", "000"), ("C1", "UNDELIV", "005"))
    m = message(mid)
    assert (m.status, m.finished_at) == (S.DELIVERED, finished)
    part = db.session.scalars(select(MessagePart)).one()
    assert (part.status, part.error_code) == (S.DELIVERED, "000")
    assert db.session.query(RawReceipt).count() == 3  # every copy kept as received


def test_a_receipt_before_its_part_is_kept_then_matched(campaign, backend):
    assert receive(("D1", "DELIVRD")) == ["D1"]
    raw = db.session.scalars(select(RawReceipt)).one()
    assert raw.part_id is None
    mid = submitted(campaign, ["D1"])  # the submit_sm_resp is stored after the receipt
    assert receipts.match_stored(ACCOUNT, utcnow() - HOUR) == 1
    db.session.commit()
    assert message(mid).status is S.DELIVERED
    db.session.refresh(raw)
    assert raw.part_id is not None
    assert receipts.match_stored(ACCOUNT, utcnow() - HOUR) == 0  # nothing left to match


def test_a_receipt_both_transactions_missed_is_matched_by_the_sweep(campaign, backend):
    # The lost race: the writer stored the receipt before the part was written.
    old = receive(("OLD", "DELIVRD"))
    db.session.execute(RawReceipt.__table__.update().values(received_at=utcnow() - HOUR))
    db.session.commit()
    assert receive(("D2", "DELIVRD"), ("STRAY", "DELIVRD")) == ["D2", "STRAY"] and old
    mid = submitted(campaign, ["D2"])
    old_mid = submitted(campaign, ["OLD"], recipient=2)
    assert message(mid).status is S.SUBMITTED
    assert receipts.match_stored(ACCOUNT, utcnow() - HOUR / 2) == 1
    db.session.commit()
    assert message(mid).status is S.DELIVERED
    assert message(old_mid).status is S.SUBMITTED  # older than the receipt wait: left alone
    unmatched = db.session.scalars(select(RawReceipt.smsc_id).where(RawReceipt.part_id.is_(None)))
    assert sorted(unmatched) == ["OLD", "STRAY"]
    assert receipts.match_stored(ACCOUNT, utcnow() - HOUR / 2) == 0


def test_the_writer_matches_a_receipt_whose_part_came_after_it(app, campaign, backend):
    writer = ReceiptWriter(app, ACCOUNT, match_every=0.05).start()
    try:
        answers: list[bool] = []
        writer.on_deliver_later(Receipt("W1", "DELIVRD", raw="id:W1 stat:DELIVRD"),
                                answers.append)
        assert wait_for(lambda: answers == [True]), answers  # stored, unmatched
        mid = submitted(campaign, ["W1"])  # written without seeing it: the lost race
        assert wait_for(lambda: message(mid).status is S.DELIVERED)
        # Counted once the sweep's transaction committed, just after the status is seen.
        assert wait_for(lambda: writer.matched_late == 1), writer.matched_late
    finally:
        writer.stop()


def test_a_late_receipt_settles_an_unknown_message(campaign, backend):
    mid = submitted(campaign, ["E1"], status=S.UNKNOWN)
    receive(("E1", "DELIVRD"))
    assert message(mid).status is S.DELIVERED


def test_ids_of_another_account_do_not_match(campaign, backend):
    mid = submitted(campaign, ["F1"])
    receipts.store_batch(ACCOUNT + 1, [Receipt("F1", "DELIVRD")])
    db.session.commit()
    assert message(mid).status is S.SUBMITTED


@pytest.mark.postgres_only  # HOT updates and fillfactor are PostgreSQL's
def test_receipts_update_their_parts_in_place(campaign, backend):
    """A batch of receipts updates its parts without a new entry in any index (HOT): the
    parts' pages keep room for the new versions (fillfactor) and no index holds a column the
    receipt sets. Counted by this backend (pg_stat_xact_user_tables: what it has not yet
    reported, earlier transactions' too, so taken before and after, in one transaction)."""
    from dispatch.models.sqlbatch import insert_rows, insert_rows_with_ids

    n = 400  # ten pages and more of parts, as the recorder writes them: one statement
    now = utcnow()
    ids = insert_rows_with_ids(Message.__table__, [
        {"campaign_id": campaign.id, "channel": "sms", "recipient_id": i, "status": "submitted",
         "parts": 1, "attempts": 1, "account_id": ACCOUNT, "created_at": now}
        for i in range(n)])
    insert_rows(MessagePart.__table__, [
        {"message_id": i, "part_no": 1, "account_id": ACCOUNT, "smsc_id": f"H{i}",
         "status": "submitted", "submitted_at": now, "error_code": None} for i in ids])
    db.session.commit()
    counts = sa.text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                     "WHERE relname = 'message_parts' AND schemaname = current_schema()")
    before = db.session.execute(counts).one()
    receipts.store_batch(ACCOUNT, [Receipt(f"H{i}", "DELIVRD", "000") for i in ids])
    after = db.session.execute(counts).one()
    db.session.commit()
    updated, hot = after[0] - before[0], after[1] - before[1]
    assert updated == n
    assert hot >= 0.9 * n, f"{hot} of {n} updates of message_parts were HOT"


@pytest.mark.parametrize(("text", "handled"), [
    ("HUY", "opt_out"), (" hủy  ", "opt_out"), ("Stop", "opt_out"), ("TỪ CHỐI", "ignored"),
    ("tuchoi", "opt_out"), ("huy dang ky", "ignored")])
def test_mo_keywords_are_trimmed_case_and_diacritic_insensitive(app, text, handled, backend):
    receipts.store_batch(ACCOUNT, [Inbound("84987654321", "8088", text)])
    db.session.commit()
    row = db.session.scalars(select(InboundMessage)).one()
    assert row.handled_as == handled
    assert db.session.query(OptOut).count() == (handled == "opt_out")


def test_mo_from_a_number_already_opted_out_and_from_a_short_code(app, backend):
    for _ in range(2):
        receipts.store_batch(ACCOUNT, [Inbound("84987654321", "8088", "TC")])
    receipts.store_batch(ACCOUNT, [Inbound("VIETTEL", "8088", "TC")])
    db.session.commit()
    assert [r.handled_as for r in db.session.scalars(
        select(InboundMessage).order_by(InboundMessage.id))] == ["opt_out", "opt_out",
                                                                 "bad_source"]
    assert db.session.query(OptOut).count() == 1


class SlowRecorder:
    """The link's outcome recorder as the writer sees it: a Batcher whose write stores the
    part of a submit_sm_resp after `delay` seconds (a recorder batch in progress)."""

    def __init__(self, app, campaign, delay):
        from dispatch.sms.batcher import Batcher

        self.mids: list[int] = []

        def write(items):
            time.sleep(delay)
            for smsc_id in items:
                self.mids.append(submitted(campaign, [smsc_id]))

        self.batcher = Batcher(app, "outcomes-test", write, batch=10, linger=0.0)

    def mark(self):
        return self.batcher.mark()

    def wait_recorded(self, mark, timeout):
        return self.batcher.wait_written(mark, timeout)


def test_the_writer_waits_for_the_parts_of_the_responses_before_its_receipts(app, campaign,
                                                                            backend):
    """The response came first, its part is still being written: the receipt is stored only
    once it is, and so matched as it is stored (no sweep: it would run after an hour)."""
    recorder = SlowRecorder(app, campaign, delay=0.3)
    recorder.batcher.start()
    writer = ReceiptWriter(app, ACCOUNT, outcomes=recorder, match_every=3600).start()
    try:
        recorder.batcher.put("O1")  # the submit_sm_resp, queued for recording
        answers: list[bool] = []
        writer.on_deliver_later(Receipt("O1", "DELIVRD", raw="id:O1 stat:DELIVRD"),
                                answers.append)
        assert wait_for(lambda: answers == [True]), answers
        raw = db.session.scalars(select(RawReceipt)).one()
        assert raw.part_id is not None and writer.matched_late == 0
        assert message(recorder.mids[0]).status is S.DELIVERED
    finally:
        writer.stop()
        recorder.batcher.stop()


def test_a_recorder_slower_than_the_wait_leaves_the_receipt_to_the_sweep(app, campaign,
                                                                        backend, monkeypatch):
    monkeypatch.setattr(ReceiptWriter, "ORDER_WAIT", 0.1)
    recorder = SlowRecorder(app, campaign, delay=1.0)
    recorder.batcher.start()
    writer = ReceiptWriter(app, ACCOUNT, outcomes=recorder, match_every=0.05).start()
    try:
        recorder.batcher.put("O2")
        # Each answer with how many parts the recorder had stored by then: the order, not a
        # duration, says the receipt was answered without waiting for the part.
        answers: list[tuple[bool, int]] = []
        writer.on_deliver_later(Receipt("O2", "DELIVRD", raw="id:O2 stat:DELIVRD"),
                                lambda ok: answers.append((ok, len(recorder.mids))))
        assert wait_for(lambda: answers), answers
        assert answers == [(True, 0)]
        assert wait_for(lambda: recorder.mids and message(recorder.mids[0]).status
                        is S.DELIVERED, timeout=5)
        assert writer.matched_late == 1
    finally:
        writer.stop()
        recorder.batcher.stop()
