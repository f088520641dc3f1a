"""The message ledger: one row per campaign x channel x recipient, the source of truth.

Rows are narrow because a campaign writes a million of them. Status changes go through
`dispatch.engine.ledger.transitions`, never by assigning `status` ad hoc.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  # written by expansion, not yet handed to a send batch
    QUEUED = "queued"  # waiting for a sender (SMS: claimed from here by the smpp process)
    SENDING = "sending"  # claimed by a sender; a submit may be on the wire
    SUBMITTED = "submitted"  # accepted by the SMSC / FCM, awaiting a receipt
    DELIVERED = "delivered"
    PARTIAL = "partial"  # some parts of a multipart SMS delivered, others not
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # fate unknowable (link died mid-submit, no receipt in time)
    SUPPRESSED = "suppressed"  # never sent: opt-out, duplicate, cap, no route...
    CANCELLED = "cancelled"


S = MessageStatus
# Not sent yet: waiting for a send batch, or claimed by a sender right now.
UNSENT: frozenset[MessageStatus] = frozenset({S.PENDING, S.QUEUED, S.SENDING})
# No later event changes these on its own (a row moves on from one only by the audited retry, or
# a late receipt settling `unknown`). `submitted` is not among them: for SMS a receipt may still
# come; a push, which has none, is final there (the code that reads these says so: docs/ENGINE.md).
FINAL: frozenset[MessageStatus] = frozenset(
    {S.DELIVERED, S.PARTIAL, S.FAILED, S.EXPIRED, S.UNKNOWN, S.SUPPRESSED, S.CANCELLED})


def _status_type() -> Enum:
    return Enum(MessageStatus, native_enum=False, length=10, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Message(db.Model):  # type: ignore[name-defined]
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    channel: Mapped[str] = mapped_column(String(4))  # sms | push
    # contacts.id for SMS, devices.id for push (no FK: it points at one of two tables).
    recipient_id: Mapped[int] = mapped_column(BigId)
    # The MSISDN as it was at expansion, so the ledger stays readable if the contact changes.
    address: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[MessageStatus] = mapped_column(_status_type(), default=MessageStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(String(48))  # suppression reason / error name
    error_code: Mapped[str | None] = mapped_column(String(16))
    operator: Mapped[str | None] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column()  # SMPP account (issue: SMPP delivery)
    parts: Mapped[int] = mapped_column(SmallInteger, default=0)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the row (re)entered the queue; in the future when a retryable refusal put it back
    # for later: it is claimed only once that time has come.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Push rows: when the installation reported it opened the notification (its API call).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SMS rows of a strategy's fallback (dispatch.engine.fallback): waiting while the push may
    # still reach, then refused | unopened (sent) or opened (suppressed). None: sent directly.
    fallback: Mapped[str | None] = mapped_column(String(12))

    __table_args__ = (
        UniqueConstraint("campaign_id", "channel", "recipient_id"),
        Index("ix_messages_campaign_status", "campaign_id", "status"),
        # What the smpp process claims from (dispatch.engine.ledger.claim_next): only the
        # queued rows, so it stays small however large the ledger grows.
        Index("ix_messages_queued_claim", "campaign_id", "account_id", "id",
              postgresql_where=text("status = 'queued'"), sqlite_where=text("status = 'queued'")),
        # The per-recipient cap looks up a recipient's recent messages across campaigns.
        Index("ix_messages_recipient", "recipient_id", "channel"),
        # Replies find what was sent to the number that wrote (dispatch.replies.attribute).
        Index("ix_messages_address", "address", "channel"),
    )


class MessagePart(db.Model):  # type: ignore[name-defined]
    """One submit_sm of an SMS, with the SMSC's id for matching its receipt."""

    __tablename__ = "message_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # messages.id. No foreign key: a part is only written for a row its writer has just moved
    # (the recorder, the push sender), and ledger rows are never deleted (retention
    # pseudonymises them); the key's check locked and dirtied that ledger row once more per
    # part (migration d2f7a9c4e681). Looked up by the unique key below, whose first column it
    # is (no index of its own).
    message_id: Mapped[int] = mapped_column(BigId)
    part_no: Mapped[int] = mapped_column(SmallInteger)
    account_id: Mapped[int | None] = mapped_column()
    smsc_id: Mapped[str | None] = mapped_column(String(64))  # normalised per account
    status: Mapped[MessageStatus] = mapped_column(_status_type(), default=MessageStatus.SUBMITTED)
    error_code: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("message_id", "part_no"),
        # The SMSC id first: it alone is selective, so receipts are matched by index lookups
        # even while the table is too new to have planner statistics.
        Index("ix_message_parts_smsc_account", "smsc_id", "account_id"),
        # A part is inserted and updated once by its receipt, moments later (status,
        # error_code, receipt_at: no index holds them). Pages filled to half leave its new
        # version room beside the old: a HOT update, no new entry in any index.
        {"postgresql_with": {"fillfactor": 50}},
    )


class RawReceipt(db.Model):  # type: ignore[name-defined]
    """A delivery receipt exactly as received; kept even when it matches nothing (yet)."""

    __tablename__ = "raw_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column()
    smsc_id: Mapped[str] = mapped_column(String(64))
    stat: Mapped[str | None] = mapped_column(String(16))
    err: Mapped[str | None] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)  # the decoded text, made storable (see payload)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    part_id: Mapped[int | None] = mapped_column(BigId)  # set once matched
    # The short_message octets exactly as received: the text above can lose what a database
    # text column cannot hold (NUL), this cannot.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    # It could not be stored as read (smsc_id, stat, err and body are empty): kept for its
    # octets, acknowledged, matched to nothing.
    unreadable: Mapped[bool] = mapped_column(default=False, server_default=false())
    __table_args__ = (
        Index("ix_raw_receipts_smsc_account", "smsc_id", "account_id"),
        # Only the unmatched rows, for their purge after the receipt wait.
        Index("ix_raw_receipts_unmatched", "account_id", "received_at",
              postgresql_where=text("part_id IS NULL"), sqlite_where=text("part_id IS NULL")),
    )


_REPLY_PENDING = text("reply_pending")  # (in the class, `text` is a column)


class InboundMessage(db.Model):  # type: ignore[name-defined]
    """An MO message (e.g. an opt-out keyword) as received."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # decoded and made storable (see payload)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # opt_out | ignored | bad_source (a sender we could never send to) | incomplete (parts
    # missing when the reassembly timed out) | unreadable (could not be stored as read)
    handled_as: Mapped[str | None] = mapped_column(String(16))
    # The short_message octets as received (the parts' joined, UDH removed).
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    data_coding: Mapped[int | None] = mapped_column(SmallInteger)
    parts: Mapped[int] = mapped_column(SmallInteger, default=1)  # the message has
    parts_received: Mapped[int] = mapped_column(SmallInteger, default=1)
    # Stored, not yet made a reply (dispatch.replies.attribute.attribute_pending): the SMSC is
    # answered once the message is committed, and attribution follows on its own thread, so
    # a restart finds what is left by this mark and attributes it once.
    reply_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    __table_args__ = (
        Index("ix_inbound_messages_reply_pending", "id",
              postgresql_where=_REPLY_PENDING, sqlite_where=_REPLY_PENDING),
    )


class MoFragment(db.Model):  # type: ignore[name-defined]
    """One acknowledged part of a concatenated MO message whose other parts have not all come.

    Stored before the SMSC gets its answer, so a restart loses none; deleted when the message
    is whole (or timed out) and written to `inbound_messages`. `key` names the message:
    source, destination, reference and part count.
    """

    __tablename__ = "mo_fragments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(String(96))
    source: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(32))
    total: Mapped[int] = mapped_column(SmallInteger)
    number: Mapped[int] = mapped_column(SmallInteger)
    data_coding: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    __table_args__ = (
        Index("ix_mo_fragments_key", "account_id", "key"),
        Index("ix_mo_fragments_received", "account_id", "received_at"),
    )
