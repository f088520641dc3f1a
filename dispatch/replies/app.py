"""Answers given in the province app: one per installation per campaign, changeable until the
campaign's reply window closes (the same reply row, updated)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, Device, Message, MessageStatus
from dispatch.models.replies import Reply
from dispatch.replies.attribute import received
from dispatch.replies.parse import choice_index, fold, match
from dispatch.sms.inbound import storable

S = MessageStatus
PUSH_REACHED = (S.SUBMITTED, S.DELIVERED)  # a push is final at submitted (docs/ENGINE.md)


def answer(device: Device, campaign_id: int, text: str, now: datetime) -> tuple[Reply, bool]:
    """Store or change this installation's answer to the campaign (caller commits); return the
    reply and whether it is new. Refusals carry codes: `not_asked`, `not_reached`,
    `reply_window_closed`."""
    c = db.session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound("No such campaign.")
    if (c.reply_mode or "none") == "none" or c.launched_at is None:
        raise Conflict("This campaign asks for no answer.", code="not_asked")
    message_id = db.session.scalar(select(Message.id).where(
        Message.campaign_id == c.id, Message.channel == "push",
        Message.recipient_id == device.id, Message.status.in_(PUSH_REACHED)))
    if message_id is None:
        raise Conflict("This campaign was not sent to this installation.", code="not_reached")
    if now >= c.launched_at + timedelta(days=c.reply_days):
        raise Conflict("The time to answer this campaign is over.", code="reply_window_closed")
    text = storable(text).strip()
    if not text:
        raise ValidationFailed.field("text", "Give an answer.")
    choice = match(text, choice_index(c.survey or {})) if c.reply_mode == "survey" else None
    reply = db.session.scalar(select(Reply).where(
        Reply.channel == "app", Reply.device_id == device.id, Reply.campaign_id == c.id))
    new = reply is None
    if reply is None:
        reply = Reply(channel="app", device_id=device.id, campaign_id=c.id,
                      message_id=message_id, locality_id=device.locality_id, received_at=now)
        db.session.add(reply)
    reply.text, reply.text_folded, reply.choice = text, fold(text), choice
    reply.kind = "answer" if choice else "free"
    reply.counted = choice is not None
    reply.received_at = now
    received([reply])
    return reply, new
