"""Replies and labels written straight into the tables, for the inbox's tests and showcases.

The replies' own path (MO → attribution → reply) is the core's; the inbox only reads and
changes rows, so its tests make the rows they need here.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Locality, User
from dispatch.models.replies import Reply, ReplyLabel
from dispatch.sms.inbound import fold_keyword

LABELS = ("Góp ý văn kiện", "Phản ánh", "Hỏi đáp", "Khác")
NOON = datetime(2025, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Vị Thanh


def labels() -> dict[str, ReplyLabel]:
    """The four labels the migration seeds (the test schema is made from the models)."""
    out = {}
    for name in LABELS:
        row = db.session.scalar(select(ReplyLabel).where(ReplyLabel.name == name))
        if row is None:
            row = ReplyLabel(name=name)
            db.session.add(row)
        out[name] = row
    db.session.commit()
    return out


def place(code: str) -> Locality:
    found = db.session.scalar(select(Locality).where(Locality.code == code))
    assert found is not None, code
    return found


def survey(author: User, title: str = "Lấy ý kiến dự thảo văn kiện") -> Campaign:
    c = Campaign(title=title, channels="sms", status=CampaignStatus.COMPLETED,
                 created_by_id=author.id, sms_text="Trả lời 1 (đồng ý) hoặc 2",
                 sms_sender="HAUGIANG", launched_at=NOON - timedelta(days=1))
    db.session.add(c)
    db.session.commit()
    return c


def reply(text: str, *, msisdn: str | None = "+84912345678", campaign: Campaign | None = None,
          locality: str | None = "vi-thanh", operator: str | None = "viettel",
          kind: str | None = None, at: datetime = NOON, **extra: Any) -> Reply:
    nfc = unicodedata.normalize("NFC", text)
    row = Reply(channel="sms" if msisdn else "app", msisdn=msisdn, text=nfc,
                text_folded=fold_keyword(nfc), operator=operator,
                locality_id=place(locality).id if locality else None,
                campaign_id=campaign.id if campaign else None,
                kind=kind or ("free" if campaign else "unattributed"), received_at=at, **extra)
    db.session.add(row)
    db.session.commit()
    return row
