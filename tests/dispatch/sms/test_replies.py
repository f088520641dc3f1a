"""A survey campaign sent through the stand-in SMSC and the smpp process; the answers come back
as MO (GSM-7, UCS-2, concatenated, diacritics, an opt-out, unattributed and strangers) and are
counted per choice and locality from the replies table itself."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Campaign, InboundMessage, Locality, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.replies import Reply
from scripts.harness import wait_for
from tests.helpers.factories import make_contact
from tests.helpers.sms import counts, make_campaign, number, queue_rows

SURVEY = {"question": "Ban co dong y voi du thao?",
          "choices": [{"key": "1", "label": "Đồng ý", "keywords": []},
                      {"key": "2", "label": "Không đồng ý", "keywords": ["khong"]}]}
LONG_FREE = ("Tôi đề nghị bổ sung nội dung về phát triển nông nghiệp và nông thôn mới, "
             "chăm lo đời sống người dân vùng sâu vùng xa của tỉnh")  # UCS-2, 2 parts


def _replies() -> list[Reply]:
    db.session.rollback()
    return db.session.scalars(select(Reply).order_by(Reply.id)).all()


def test_survey_answers_are_attributed_parsed_and_counted(app, redis, smsc, account, editor,
                                                          smpp, backend):
    for code in ("vt", "nb"):
        db.session.add(Locality(code=code, name=code))
    db.session.commit()
    for i in range(8):
        make_contact(number(i), locality="vt" if i < 5 else "nb")
    old = make_campaign(editor, title="cu", reply_mode="survey", survey=SURVEY, reply_days=1,
                        launched_at=utcnow() - timedelta(days=3))
    # It reached number 7 three days ago (past its validity now), its window is closed.
    db.session.add(Message(campaign_id=old.id, channel="sms", recipient_id=7, address=number(7),
                           status=MessageStatus.DELIVERED, account_id=account.id,
                           operator="viettel"))
    db.session.commit()
    survey = make_campaign(editor, reply_mode="survey", survey=SURVEY, reply_days=7)
    queue_rows(survey, account, 7)
    smpp()
    assert wait_for(lambda: counts(survey.id)["delivered"] == 7), counts(survey.id)
    sent = "".join(r.text for r in smsc.received(number(0)[1:]))  # UCS-2: "Trả lời"
    assert sent.endswith("\nBan co dong y voi du thao? Trả lời 1 hoặc 2")

    answers = [(0, " 1."), (1, "Đồng ý"), (2, "dong y!"), (3, "một"), (4, "KHONG"),
               (5, "2"), (6, LONG_FREE), (7, "1")]
    for i, text in answers:
        smsc.send_mo("loa", number(i)[1:], "8088", text)
    smsc.send_mo("loa", number(5)[1:], "8088", "1")  # changes its mind: the last one counts
    smsc.send_mo("loa", number(4)[1:], "8088", "Hủy")  # an opt-out, never counted
    smsc.send_mo("loa", "84987654321", "8088", "1")  # a stranger
    assert wait_for(lambda: len(_replies()) == 11, timeout=15), len(_replies())
    rows = _replies()
    by_number = {}
    for r in rows:
        by_number.setdefault(r.msisdn, []).append(r)
    assert [r.kind for r in by_number[number(0)]] == ["answer"]
    assert by_number[number(6)][0].kind == "free" and by_number[number(6)][0].text == LONG_FREE
    assert by_number[number(7)][0].kind == "unattributed"  # its campaign's window closed
    assert by_number["+84987654321"][0].kind == "stranger"
    assert [r.kind for r in by_number[number(4)]] == ["answer", "opt_out"]
    assert [r.counted for r in by_number[number(5)]] == [False, True]
    assert all(r.campaign_id == survey.id for r in rows
               if r.kind in ("answer", "free", "opt_out"))
    assert by_number[number(0)][0].message_id is not None
    inbound = db.session.scalars(select(InboundMessage).where(InboundMessage.parts == 2)).one()
    assert inbound.parts_received == 2

    # The figures, read from the replies table as a results page would.
    names = {loc.id: loc.code for loc in db.session.scalars(select(Locality))}
    figures = Counter((names[r.locality_id], r.choice) for r in rows if r.counted)
    assert figures == {("vt", "1"): 4, ("vt", "2"): 1, ("nb", "1"): 1}


def test_one_ack_per_number_no_loop_and_a_daily_limit(app, redis, smsc, account, editor, smpp,
                                                      backend):
    app.config["REPLY_DAILY_LIMIT"] = 3
    survey = make_campaign(editor, reply_mode="survey", survey=SURVEY, reply_days=7,
                           reply_ack="Cam on ban da tra loi")
    queue_rows(survey, account, 2)
    smpp()
    assert wait_for(lambda: counts(survey.id)["delivered"] == 2), counts(survey.id)
    # Number 0 is an auto-responder: it answers every SMS it gets, the ack included.
    smsc.send_mo("loa", number(0)[1:], "8088", "1")
    smsc.send_mo("loa", number(1)[1:], "8088", "2")
    assert wait_for(lambda: len(smsc.received(number(0)[1:])) == 3, timeout=15)  # survey + ack
    for text in ("Tin nhan tu dong: toi dang ban", "2", "1", "2"):
        smsc.send_mo("loa", number(0)[1:], "8088", text)
    assert wait_for(lambda: len(_replies()) == 6, timeout=15), len(_replies())
    time.sleep(1.5)  # time for any second acknowledgement to go out (there must be none)
    acks = [r.text for r in smsc.received(number(0)[1:]) if "Cam on" in r.text]
    assert acks == ["Cam on ban da tra loi"]
    assert [r.text for r in smsc.received(number(1)[1:]) if "Cam on" in r.text] == acks
    mine = [r for r in _replies() if r.msisdn == number(0)]
    assert [r.ack for r in mine] == ["queued", "skipped", "skipped", "skipped", "skipped"]
    assert [r.over_limit for r in mine] == [False, False, False, True, True]
    # The last answer within the limit counts; those beyond it are kept, never counted.
    assert [(r.choice, r.counted) for r in mine] == [
        ("1", False), (None, False), ("2", True), ("1", False), ("2", False)]
    child = db.session.scalars(select(Campaign).where(Campaign.parent_id == survey.id)).one()
    assert child.kind == "ack" and counts(child.id)["delivered"] == 2


def test_the_stand_in_answers_a_survey_with_a_mix(app, redis, smsc, account, editor, smpp,
                                                   backend):
    survey = make_campaign(editor, reply_mode="survey", survey=SURVEY, reply_days=7)
    queue_rows(survey, account, 40)
    smpp()
    assert wait_for(lambda: counts(survey.id)["delivered"] == 40), counts(survey.id)
    sent = smsc.answer_survey("loa", {"1": 0.4, "2": 0.3, "free": 0.2, "HUY": 0.1}, seed=3)
    total = sum(sent.values())
    assert total == 40 and all(sent.values()), sent
    assert wait_for(lambda: len(_replies()) == total, timeout=15), len(_replies())
    kinds = Counter((r.kind, r.choice) for r in _replies())
    assert kinds == {("answer", "1"): sent["1"], ("answer", "2"): sent["2"],
                     ("free", None): sent["free"], ("opt_out", None): sent["HUY"]}
