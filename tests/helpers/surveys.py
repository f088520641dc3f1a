"""A survey campaign with its ledger and its replies written directly, for the results' tests.

`survey_campaign` writes the mix; EXPECTED holds what it must give, counted by hand, which the
tests compare with the module's figures, the page, the document and the API. Replies are
written as the attribution (dispatch's reply code) leaves them: `counted` on the last answer of
each number or installation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Contact, Locality, Message, MessageStatus
from dispatch.models.replies import Reply
from tests.helpers.reports import T0, Ledger, campaign

S = MessageStatus
QUESTION = "Ông/bà có đồng ý với dự thảo văn kiện Đại hội? Trả lời 1, 2 hoặc 3"
CHOICES = [
    {"key": "1", "label": "Đồng ý", "keywords": ["1", "dong y"]},
    {"key": "2", "label": "Không đồng ý", "keywords": ["2", "khong dong y"]},
    {"key": "3", "label": "Ý kiến khác", "keywords": ["3", "khac"]},
]
FREE_TEXTS = ("Đề nghị bổ sung nội dung về chuyển đổi số cấp xã",
              "Cần nói rõ hơn về phát triển nông nghiệp")


def place(code: str) -> Locality:
    found = db.session.scalar(select(Locality).where(Locality.code == code))
    assert found is not None, code
    return found


def commune_of_vi_thanh() -> Locality:
    found = db.session.scalar(select(Locality).where(Locality.code == "vi-thanh-p1"))
    if found is None:
        found = Locality(code="vi-thanh-p1", name="Phường I", kind="commune",
                         parent_id=place("vi-thanh").id)
        db.session.add(found)
        db.session.flush()
    return found


def reply(c: Campaign | None, kind: str, *, minutes: float, channel: str = "sms",
          choice: str | None = None, counted: bool = False, over_limit: bool = False,
          operator: str | None = None, locality: Locality | None = None,
          text: str | None = None, count: int = 1) -> None:
    for _ in range(count):
        db.session.add(Reply(
            channel=channel, campaign_id=c.id if c else None, kind=kind, choice=choice,
            counted=counted, over_limit=over_limit, operator=operator,
            locality_id=locality.id if locality else None,
            msisdn="+84912000111" if channel == "sms" else None,
            text=text or choice or "HUY", text_folded=(text or choice or "huy").lower(),
            received_at=T0 + timedelta(minutes=minutes)))


def survey_campaign(people: dict[str, Any], *, title: str = "Lấy ý kiến dự thảo văn kiện",
                    tag: str | None = "truoc-dai-hoi") -> Campaign:
    """The seeded survey (figures in EXPECTED); T0 is 08:00 local on 10/03/2025."""
    c = campaign(people, title, status=CampaignStatus.COMPLETED,
                 launched=T0 - timedelta(minutes=1), tag=tag,
                 finished_at=T0 + timedelta(hours=1), reply_mode="survey",
                 survey={"question": QUESTION, "choices": CHOICES}, reply_days=7)
    ledger = Ledger(c)
    ledger.sms("viettel", S.DELIVERED, submitted=1, finished=20, count=6)
    ledger.sms("viettel", S.FAILED, reason="UNDELIV", submitted=1, finished=30)
    ledger.sms("viettel", S.PARTIAL, parts=2, submitted=1, finished=30)  # not "delivered"
    ledger.sms("vinaphone", S.DELIVERED, submitted=2, finished=20, count=3)
    ledger.sms("vinaphone", S.SUPPRESSED, reason="opt_out")
    ledger.push(S.SUBMITTED, submitted=3, fcm_id="projects/loa/messages/9", count=4)
    ledger.push(S.FAILED, reason="fcm_unregistered", finished=4)
    commune, nga_bay = commune_of_vi_thanh(), place("nga-bay")
    for operator, where in (("viettel", commune), ("vinaphone", nga_bay)):
        db.session.execute(update(Contact).where(Contact.id.in_(
            select(Message.recipient_id).where(Message.campaign_id == c.id,
                                               Message.channel == "sms",
                                               Message.operator == operator)))
            .values(locality_id=where.id))

    vt = {"operator": "viettel", "locality": commune}
    vn = {"operator": "vinaphone", "locality": nga_bay}
    # 08:00–09:00 local: three answers that count, two earlier answers they replaced.
    reply(c, "answer", choice="1", counted=True, minutes=10, count=2, **vt)
    reply(c, "answer", choice="2", counted=True, minutes=50, **vt)
    reply(c, "answer", choice="1", minutes=5, count=2, **vt)
    # 09:00–10:00: free text (listed, not an answer).
    for i, text in enumerate(FREE_TEXTS):
        reply(c, "free", text=text, minutes=65 + i, **vt)
    # 10:00–11:00: three answers (SMS and app), one over the daily limit, an opt-out.
    reply(c, "answer", choice="1", counted=True, minutes=125, **vt)
    reply(c, "answer", choice="3", counted=True, minutes=130, **vn)
    reply(c, "answer", channel="app", choice="2", counted=True, minutes=140)
    reply(c, "answer", choice="2", over_limit=True, minutes=150, **vt)
    reply(c, "opt_out", text="HUY", minutes=155, **vn)
    # 11:00–12:00 nothing; 12:00–13:00: two more.
    reply(c, "answer", choice="1", counted=True, minutes=245, **vn)
    reply(c, "answer", channel="app", choice="2", counted=True, minutes=250)
    # Never counted: a number the campaign never reached, and one no campaign asked.
    reply(c, "stranger", choice="1", counted=True, minutes=20, operator="viettel")
    reply(None, "unattributed", text="1", minutes=20, operator="viettel")
    db.session.commit()
    return c


# What the seeded survey must give (counted by hand from the rows above).
EXPECTED = {
    "choices": {"1": 4, "2": 3, "3": 1},
    "answers": 8,
    "reached": {"sms": 9, "push": 4, "total": 13},
    "rate": 61.5,  # 8 / 13
    "by_channel": {"sms": (6, 9, 66.7), "app": (2, 4, 50.0)},
    # district: answers, by choice, reached (delivered SMS + accepted pushes), rate
    "by_locality": {"Thành phố Ngã Bảy": (2, {"1": 1, "2": 0, "3": 1}, 3, 66.7),
                    "Thành phố Vị Thanh": (4, {"1": 3, "2": 1, "3": 0}, 6, 66.7),
                    None: (2, {"1": 0, "2": 2, "3": 0}, 4, 50.0)},  # the app's: not known
    "by_operator": {"viettel": (4, {"1": 3, "2": 1, "3": 0}, 6, 66.7),
                    "vinaphone": (2, {"1": 1, "2": 0, "3": 1}, 3, 66.7)},
    "not_counted": {"replaced": 2, "over_limit": 1, "opted_out": 1},
    "free_replies": 2,
    # local hour: (replies received, answers counted)
    "hours": [("08:00", 5, 3), ("09:00", 2, 0), ("10:00", 4, 3), ("11:00", 0, 0),
              ("12:00", 2, 2)],
}
