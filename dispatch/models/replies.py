"""What people write back: replies to campaigns (SMS MO and app answers) and their labels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow


class ReplyLabel(db.Model):  # type: ignore[name-defined]
    """A label staff put on replies (góp ý văn kiện, phản ánh, hỏi đáp, khác); admins edit them."""

    __tablename__ = "reply_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Reply(db.Model):  # type: ignore[name-defined]
    """One reply: an MO message (channel sms, `inbound_id`) or an answer given in the app
    (channel app, `device_id`), attributed to the campaign it answers when there is one.

    kind: answer (a survey choice, `choice`) | free (free text to a campaign that asked for it)
    | opt_out (an opt-out keyword: acted on, never counted) | unattributed (no open campaign
    asked this number) | stranger (a number Loa never sent that campaign to).
    Only rows with `counted` make a survey's figures: the last answer of a number counts.
    """

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(4))  # sms | app
    # inbound_messages.id, without a foreign key: the MO writer inserts the message and its
    # reply in one transaction, with the id the message's INSERT returned, and MO messages are
    # never deleted, so the key guarded nothing. Its check cost a lookup per reply whose plan
    # PostgreSQL caches per connection: planned while inbound_messages held one page, it stayed
    # a scan of the whole table as the table grew (migration 7b3c9e1f4a26).
    inbound_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    device_id: Mapped[int | None] = mapped_column(BigId)
    msisdn: Mapped[str | None] = mapped_column(String(16))  # E.164 when the sender is a number
    contact_id: Mapped[int | None] = mapped_column(BigId)
    account_id: Mapped[int | None] = mapped_column()
    operator: Mapped[str | None] = mapped_column(String(16))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    message_id: Mapped[int | None] = mapped_column(BigId)  # the ledger row it answers
    text: Mapped[str] = mapped_column(Text)  # NFC
    text_folded: Mapped[str] = mapped_column(Text, default="")  # lower case, no diacritics
    kind: Mapped[str] = mapped_column(String(16))
    choice: Mapped[str | None] = mapped_column(String(32))  # the survey choice's key
    counted: Mapped[bool] = mapped_column(default=False)
    over_limit: Mapped[bool] = mapped_column(default=False)  # beyond the per-number daily rate
    # none | queued | sent | skipped (already acknowledged, over the limit, a loop)
    ack: Mapped[str] = mapped_column(String(8), default="none")
    label_id: Mapped[int | None] = mapped_column(ForeignKey("reply_labels.id"))
    state: Mapped[str] = mapped_column(String(8), default="new")  # new | handled
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)  # internal, staff only
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_replies_campaign", "campaign_id", "kind", "received_at"),
        Index("ix_replies_msisdn", "msisdn", "received_at"),
        Index("ix_replies_device", "device_id", "campaign_id"),
        Index("ix_replies_state", "state", "received_at"),
    )
