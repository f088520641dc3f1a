"""MO stored first, replies made after: the writer answers the SMSC before attribution, the
attributor makes each stored message one reply, once, also after a process died between the
two stages, and one message it cannot attribute does not hold up the others."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import InboundMessage, OptOut
from dispatch.models.replies import Reply
from dispatch.replies import attribute
from dispatch.sms import receipts
from dispatch.sms.attributor import ReplyAttributor
from dispatch.sms.writer import ReceiptWriter
from scripts.harness import wait_for
from tests.dispatch.sms.test_inbound import ACCOUNT, mo, part, replies, survey_sent_to


def marked() -> list[int]:
    db.session.rollback()
    return list(db.session.scalars(select(InboundMessage.id).where(
        InboundMessage.reply_pending.is_(True)).order_by(InboundMessage.id)))


def test_the_smsc_is_answered_before_attribution_and_the_replies_follow(app, backend,
                                                                         monkeypatch):
    survey = survey_sent_to("+84912345678", "+84912345679")
    held = threading.Event()
    real = attribute.attribute

    def slow(rows):  # attribution held until the test has seen the answers
        assert held.wait(10)
        real(rows)

    monkeypatch.setattr(attribute, "attribute", slow)
    attributor = ReplyAttributor(app).start()
    writer = ReceiptWriter(app, ACCOUNT, attributor=attributor).start()
    answers: list[bool] = []
    try:
        writer.on_deliver_later(mo("1"), answers.append)
        writer.on_deliver_later(part(1, "Xin ", source="84912345679"), answers.append)
        writer.on_deliver_later(part(2, "chào", source="84912345679"), answers.append)
        assert wait_for(lambda: answers == [True, True, True], timeout=10)
        assert len(marked()) == 2 and replies() == []  # stored and answered, not attributed
        held.set()
        assert wait_for(lambda: len(replies()) == 2, timeout=10)
    finally:
        held.set()
        writer.stop()
        attributor.stop()
    assert sorted((r.text, r.kind, r.campaign_id) for r in replies()) == [
        ("1", "answer", survey.id), ("Xin chào", "free", survey.id)]
    assert marked() == []


def test_what_a_dead_process_left_marked_is_attributed_once_by_the_next(app, backend):
    survey = survey_sent_to("+84912345678", "+84912345679")
    # Stored and answered by a process killed before it attributed them.
    receipts.store_batch(ACCOUNT, [mo("2"), mo("HỦY", source="84912345679"), mo("1")])
    db.session.commit()
    # The opt-out was acted on at once, before the SMSC's answer; its reply comes with the rest.
    assert len(marked()) == 3 and db.session.scalar(select(func.count()).select_from(OptOut)) == 1
    first, second = ReplyAttributor(app), ReplyAttributor(app)
    first.start(), second.start()  # two processes' attributors look at once
    try:
        assert wait_for(lambda: marked() == [], timeout=10)
    finally:
        first.stop(), second.stop()
    assert first.attributed + second.attributed == 3
    mine = [(r.text, r.kind, r.counted) for r in replies()]
    assert mine == [("2", "answer", False), ("HỦY", "opt_out", False), ("1", "answer", True)]
    assert db.session.scalar(select(func.count()).select_from(Reply).where(
        Reply.campaign_id == survey.id, Reply.counted.is_(True))) == 1


def test_a_message_that_cannot_be_attributed_is_set_aside_and_the_rest_go_on(app, backend,
                                                                             monkeypatch):
    survey_sent_to("+84912345678")
    receipts.store_batch(ACCOUNT, [mo("1"), mo("poison"), mo("2")])
    db.session.commit()
    real = attribute.record_mo

    def record(account_id, rows, now):
        if any(r.text == "poison" for r in rows):
            raise ValueError("a value the replies refuse")
        return real(account_id, rows, now)

    monkeypatch.setattr(attribute, "record_mo", record)
    attributor = ReplyAttributor(app)
    attributor.run()
    assert [r.text for r in replies()] == ["1", "2"]
    assert attributor.failed == 1 and marked() == []
    # Its MO row stays, as received.
    assert "poison" in db.session.scalars(select(InboundMessage.text))


def test_a_database_away_leaves_the_messages_marked(app, backend, monkeypatch):
    from sqlalchemy.exc import OperationalError

    survey_sent_to("+84912345678")
    receipts.store_batch(ACCOUNT, [mo("1")])
    db.session.commit()

    def away(account_id, rows, now):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(attribute, "record_mo", away)
    monkeypatch.setattr("dispatch.sms.attributor.time.sleep", lambda s: None)
    attributor = ReplyAttributor(app)
    attributor.run()
    assert attributor.failures == 1 and attributor.failed == 0 and len(marked()) == 1
    monkeypatch.undo()
    attributor.run()
    assert [r.text for r in replies()] == ["1"] and marked() == []


@pytest.mark.parametrize("batch", [1, 2])
def test_batches_of_any_size_make_the_same_replies(app, backend, batch):
    survey_sent_to("+84912345678")
    receipts.store_batch(ACCOUNT, [mo("1"), mo("2"), mo("1")])
    db.session.commit()
    ReplyAttributor(app, batch=batch).run()
    assert [(r.text, r.counted) for r in replies()] == [  # the last answer counts
        ("1", False), ("2", False), ("1", True)]


@pytest.mark.postgres_only  # the planner is PostgreSQL's
def test_the_look_for_marked_messages_is_an_index_probe_whatever_the_table_holds(app, backend):
    from sqlalchemy.dialects import postgresql

    db.session.execute(sa.text(
        "INSERT INTO inbound_messages (account_id, source, destination, text, received_at, "
        "parts, parts_received, handled_as, reply_pending) SELECT 7, '84912345678', '8088', "
        "'x', now(), 1, 1, 'ignored', g > 19990 FROM generate_series(1, 20000) g"))
    db.session.execute(sa.text("ANALYZE inbound_messages"))
    sql = str(attribute.pending_query(500).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan = db.session.execute(sa.text("EXPLAIN (FORMAT JSON) " + sql)).scalar()
    db.session.rollback()
    scans: list[str | None] = []

    def walk(node):
        if node.get("Relation Name") == "inbound_messages":
            scans.append(node.get("Index Name"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert scans == ["ix_inbound_messages_reply_pending"], scans


def test_one_batch_holding_several_accounts_attributes_each_on_its_own_account(app, backend):
    survey = survey_sent_to("+84912345678")  # on ACCOUNT only
    receipts.store_batch(ACCOUNT + 1, [mo("2")])  # the same number, on another operator's bind
    receipts.store_batch(ACCOUNT, [mo("1")])
    db.session.commit()
    ReplyAttributor(app).run()
    got = {(r.account_id, r.text): (r.kind, r.campaign_id) for r in replies()}
    assert got == {(ACCOUNT + 1, "2"): ("unattributed", None),
                   (ACCOUNT, "1"): ("answer", survey.id)}


@pytest.mark.postgres_only  # SQLite has one writer at a time; PostgreSQL needs the lock
def test_a_second_batch_waits_for_the_first_and_finds_its_messages_taken(app, backend):
    survey = survey_sent_to("+84912345678", "+84912345679")
    receipts.store_batch(ACCOUNT, [mo("1"), mo("2", source="84912345679")])
    db.session.commit()
    first = attribute.take_pending(500)  # this transaction holds the attribution
    assert len(first) == 2
    taken: list[int] = []

    def second() -> None:  # another process's attributor, on its own connection
        with app.app_context():
            taken.append(attribute.attribute_pending())
            db.session.commit()

    other = threading.Thread(target=second)
    other.start()
    try:
        waiting = sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND objid = :key AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())")
        # Without the lock the second would read the same two marked rows now and make a
        # second reply of each; with it, it waits on the lock until the first commits.
        assert wait_for(lambda: db.session.scalar(
            waiting, {"key": attribute.ATTRIBUTION_LOCK}) == 1, timeout=10)
        assert taken == []
        attribute.attribute(first)
        db.session.commit()
    finally:
        other.join(10)
    assert taken == [0]  # it read what the first committed: nothing left marked
    assert sorted((r.msisdn, r.choice, r.counted, r.campaign_id) for r in replies()) == [
        ("+84912345678", "1", True, survey.id), ("+84912345679", "2", True, survey.id)]
