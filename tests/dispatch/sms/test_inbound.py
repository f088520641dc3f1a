"""MO parts stored as they come and joined from storage; timed-out ones; the purge of receipts
that matched nothing. Storage only (the socket side is tests/dispatch/sms/test_hostile_smsc.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    InboundMessage,
    Message,
    MessageStatus,
    MoFragment,
    OptOut,
    RawReceipt,
)
from dispatch.models.common import utcnow
from dispatch.models.replies import Reply
from dispatch.replies import attribute
from dispatch.sms import inbound, receipts
from dispatch.sms.writer import ReceiptWriter
from gateways.results import Fragment, Inbound
from tests.helpers.factories import make_user
from tests.helpers.sms import make_campaign

ACCOUNT = 7


def part(number: int, text: str, *, total: int = 2, ref: int = 9,
         source: str = "84912345678") -> Fragment:
    return Fragment(source, "8088", ref, total, number, text.encode("utf-16-be"), 8)


def mo(text: str, source: str = "84912345678") -> Inbound:
    return Inbound(source, "8088", text, extra={"data_coding": "0"}, payload=text.encode())


def store(*parts: Fragment | Inbound) -> None:
    """One writer batch, then its attribution, as the smpp process's two stages do them."""
    receipts.store_batch(ACCOUNT, list(parts))
    db.session.commit()
    attribute.attribute_pending()
    db.session.commit()


def rows() -> list[InboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def pending() -> int:
    return int(db.session.scalar(select(func.count()).select_from(MoFragment)) or 0)


def test_parts_are_joined_from_storage_once_all_came(app, backend):
    store(part(2, " anh chị"))
    store(part(2, " anh chị"))  # the SMSC did not see our answer: delivered again
    assert rows() == [] and pending() == 2
    store(part(1, "Xin chào"))
    (message,) = rows()
    assert (message.text, message.parts, message.parts_received, message.handled_as) == (
        "Xin chào anh chị", 2, 2, "ignored")
    assert bytes(message.payload) == "Xin chào anh chị".encode("utf-16-be")
    assert pending() == 0


def test_a_decomposed_reply_is_stored_composed_and_its_octets_kept(app, backend):
    import unicodedata

    typed = unicodedata.normalize("NFD", "Góp ý văn kiện")
    store(part(1, typed[:2]), part(2, typed[2:]))  # part 2 opens with a combining accent
    (message,) = rows()
    assert message.text == "Góp ý văn kiện" and unicodedata.is_normalized("NFC", message.text)
    assert bytes(message.payload) == typed.encode("utf-16-be")


def test_parts_of_different_messages_in_one_batch(app, backend):
    store(part(1, "a", ref=1), part(1, "b", ref=2), part(2, "c", ref=1),
          part(1, "d", ref=1, source="84912345679"))
    assert [m.text for m in rows()] == ["ac"]
    assert pending() == 2


def test_a_timed_out_message_is_stored_incomplete_and_never_opts_out(app, backend):
    store(part(1, "HUY", total=3), part(3, "!", total=3))
    now = utcnow()
    assert inbound.sweep_fragments(ACCOUNT, now - timedelta(seconds=300), set(), now) == 0
    assert inbound.sweep_fragments(ACCOUNT, now + timedelta(seconds=1), {"huy"}, now) == 1
    db.session.commit()
    (message,) = rows()
    assert (message.text, message.parts, message.parts_received, message.handled_as) == (
        "HUY!", 3, 2, "incomplete")
    assert db.session.query(OptOut).count() == 0 and pending() == 0


def test_a_whole_message_is_opted_out_by_its_keyword(app, backend):
    store(part(1, "H"), part(2, "ủy "))
    assert rows()[0].handled_as == "opt_out"
    assert db.session.query(OptOut).count() == 1


def test_the_sweep_writes_a_message_whose_parts_all_came_as_whole(app, backend):
    # Two smpp processes each stored one part at once and neither saw the other's.
    for number, text in ((1, "Xin "), (2, "chào")):
        db.session.add(MoFragment(account_id=ACCOUNT, key=inbound.fragment_key(
            "84912345678", "8088", 9, 2), source="84912345678", destination="8088", total=2,
            number=number, data_coding=8, payload=text.encode("utf-16-be")))
    db.session.commit()
    now = utcnow()
    assert inbound.sweep_fragments(ACCOUNT, now + timedelta(seconds=1), set(), now) == 1
    db.session.commit()
    assert [(m.text, m.handled_as) for m in rows()] == [("Xin chào", "ignored")]


def test_unmatched_receipts_are_purged_after_the_receipt_wait(app, backend):
    now = utcnow()
    old, young = now - timedelta(hours=49), now - timedelta(hours=1)

    def raw(smsc_id, at, *, part_id=None, unreadable=False, account=ACCOUNT):
        db.session.add(RawReceipt(account_id=account, smsc_id=smsc_id, stat="DELIVRD",
                                  body="", received_at=at, part_id=part_id,
                                  unreadable=unreadable))

    raw("never-issued", old)
    raw("matched", old, part_id=1)
    raw("too-young", young)
    raw("", old, unreadable=True)
    raw("other-account", old, account=ACCOUNT + 1)
    db.session.commit()
    assert receipts.purge_unmatched(ACCOUNT, now - timedelta(hours=48), batch=1) == 1
    left = sorted(db.session.scalars(select(RawReceipt.smsc_id)))
    assert left == ["", "matched", "other-account", "too-young"]


def test_the_writer_refuses_deliveries_beyond_its_queue_for_now(app):
    writer = ReceiptWriter(app, ACCOUNT, max_queued=2)  # not started: nothing drains it
    answers: list[bool] = []
    for i in range(3):
        writer.on_deliver_later(part(1, "x", ref=i), answers.append)
    assert answers == [False]  # the third: the SMSC delivers it again later
    assert writer.refused == 1


# -- a batch at a time (the writer's transaction): parts across batches, repeats within one ---


def survey_sent_to(*numbers: str) -> Campaign:
    """A survey campaign delivered to these numbers on ACCOUNT."""
    survey = make_campaign(make_user("editor-mo", ["editor"]), reply_mode="survey",
                           reply_days=7, survey={"question": "?", "choices": [
                               {"key": "1", "label": "Đồng ý"},
                               {"key": "2", "label": "Không đồng ý"}]})
    for i, address in enumerate(numbers):
        db.session.add(Message(campaign_id=survey.id, channel="sms", recipient_id=i,
                               address=address, status=MessageStatus.DELIVERED,
                               account_id=ACCOUNT, operator="viettel"))
    db.session.commit()
    return survey


def replies() -> list[Reply]:
    db.session.expire_all()
    return list(db.session.scalars(select(Reply).order_by(Reply.id)))


def test_messages_whose_parts_straddle_batches_are_written_once_among_the_others(app,
                                                                                  backend):
    survey = survey_sent_to("+84912345678", "+84912345679")
    store(part(1, "Xin ", ref=1), mo("1"), part(1, "Tạm ", ref=2, source="84900000001"))
    assert [m.text for m in rows()] == ["1"] and pending() == 2
    store(part(2, "biệt", ref=2, source="84900000001"), mo("2", source="84912345679"),
          part(2, "chào", ref=1))
    assert [(m.text, m.parts, m.parts_received) for m in rows()] == [
        ("1", 1, 1), ("2", 1, 1), ("Tạm biệt", 2, 2), ("Xin chào", 2, 2)]
    assert pending() == 0
    # Every stored message is one reply, naming its own row.
    texts = {m.id: m.text for m in rows()}
    assert sorted((texts[r.inbound_id], r.kind, r.campaign_id) for r in replies()) == [
        ("1", "answer", survey.id), ("2", "answer", survey.id),
        ("Tạm biệt", "stranger", None), ("Xin chào", "free", survey.id)]


def test_a_part_and_an_answer_delivered_twice_in_one_batch(app, backend):
    survey = survey_sent_to("+84912345678")
    # The SMSC did not see our answers in time and delivered again before the batch was stored.
    store(part(1, "Xin "), mo("1"), part(1, "Xin "), part(2, "chào"), mo("1"))
    assert sorted((m.text, m.parts_received) for m in rows()) == [
        ("1", 1), ("1", 1), ("Xin chào", 2)]
    assert pending() == 0
    mine = [(r.text, r.kind, r.choice, r.counted) for r in replies()]
    # Kept as received, counted once: the last answer counts.
    assert mine == [("1", "answer", "1", False), ("1", "answer", "1", True),
                    ("Xin chào", "free", None, False)]
    assert db.session.scalar(select(func.count()).select_from(Reply).where(
        Reply.campaign_id == survey.id, Reply.counted.is_(True))) == 1


def test_the_last_answer_and_the_daily_limit_hold_across_batches(app, backend):
    app.config["REPLY_DAILY_LIMIT"] = 3
    survey_sent_to("+84912345678", "+84912345679")
    store(mo("1"), mo("2", source="84912345679"))
    store(mo("2"))
    store(mo("1"), mo("2"), mo("1", source="84912345679"))
    mine = [(r.choice, r.counted, r.over_limit) for r in replies() if r.msisdn == "+84912345678"]
    assert mine == [("1", False, False), ("2", False, False), ("1", True, False),
                    ("2", False, True)]
    other = [(r.choice, r.counted) for r in replies() if r.msisdn == "+84912345679"]
    assert other == [("2", False), ("1", True)]
