"""What did number X receive from a campaign? The exact text and what became of it.

A personalised campaign's text is each recipient's own (message_texts, written at expansion);
any other campaign sent everyone the same text, its own (the no-diacritics variant when it
chose that). A suppressed recipient was sent nothing: the answer says why, without a text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.audiences import msisdn as numbers
from dispatch.campaigns.placeholders import is_personal
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, Message, MessageStatus, MessageText
from gateways.sms.encoding import strip_diacritics


def received(c: Campaign, number: str) -> dict[str, Any]:
    """The campaign's SMS to `number` (as a person writes it: read, never repaired)."""
    parsed = numbers.normalise(number)
    if parsed.msisdn is None:
        raise ValidationFailed.field("msisdn", "Not a Vietnamese mobile number.")
    row = db.session.execute(
        select(Message.id, Message.status, Message.reason, Message.parts,
               Message.submitted_at, Message.finished_at, MessageText.text)
        .outerjoin(MessageText, MessageText.message_id == Message.id)
        .where(Message.campaign_id == c.id, Message.channel == "sms",
               Message.address == parsed.msisdn)).first()
    if row is None:
        return {"msisdn": parsed.msisdn, "found": False, "text": None}
    sent = row.status is not MessageStatus.SUPPRESSED
    text = row.text
    if text is None and sent and not is_personal(c.sms_text):
        text = strip_diacritics(c.sms_text or "") if c.sms_plain else (c.sms_text or "")
    return {"msisdn": parsed.msisdn, "found": True, "status": row.status.value,
            "reason": row.reason, "parts": row.parts if sent else 0,
            "submitted_at": row.submitted_at, "finished_at": row.finished_at,
            "text": text if sent else None}
