"""Campaigns, the communication plans and phases they belong to, settings, the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, Time, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTING = "submitting"  # submitted; a job is freezing its audience (then pending_approval)
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def _enum(cls: type[enum.Enum], length: int) -> Enum:
    # Stored as plain strings with a CHECK: readable in SQL and portable to SQLite.
    return Enum(cls, native_enum=False, length=length, create_constraint=True,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Plan(db.Model):  # type: ignore[name-defined]
    """A communication plan (kế hoạch) of the department: its reference, title and dates."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(60))  # số/ký hiệu, e.g. 12/KH-STTTT
    title: Mapped[str] = mapped_column(String(300))
    # Dates are local calendar days, inclusive. Null only for a plan migrated from phase tags.
    starts_on: Mapped[date | None] = mapped_column(Date())
    ends_on: Mapped[date | None] = mapped_column(Date())
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    phases: Mapped[list[Phase]] = relationship(
        back_populates="plan", order_by="(Phase.starts_on, Phase.id)")


class Phase(db.Model):  # type: ignore[name-defined]
    """A phase (đợt) of a plan: a name, a date range (local days, inclusive) and its purpose."""

    __tablename__ = "plan_phases"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Null only for a phase migrated from a free tag, until an admin gives its dates.
    starts_on: Mapped[date | None] = mapped_column(Date())
    ends_on: Mapped[date | None] = mapped_column(Date())
    purpose: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[Plan] = relationship(back_populates="phases")


class Campaign(db.Model):  # type: ignore[name-defined]
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("plan_phases.id"), index=True)
    decision_ref: Mapped[str | None] = mapped_column(String(120))  # the approving document
    channels: Mapped[str] = mapped_column(String(8))  # sms | push | both

    sms_text: Mapped[str | None] = mapped_column(Text)
    sms_sender: Mapped[str | None] = mapped_column(String(11))
    # Send the Vietnamese text without diacritics (không dấu): GSM-7, fewer parts.
    sms_plain: Mapped[bool] = mapped_column(default=False)

    push_title: Mapped[str | None] = mapped_column(String(200))
    push_body: Mapped[str | None] = mapped_column(Text)
    push_image: Mapped[str | None] = mapped_column(String(500))
    push_link: Mapped[str | None] = mapped_column(String(500))
    push_data: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    # {"lists": [ids], "exclude_lists": [ids], "localities": [codes], "all_app_users": bool}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: when launched
    window_start: Mapped[time] = mapped_column(Time(), default=time(7, 0))  # local time
    window_end: Mapped[time] = mapped_column(Time(), default=time(22, 0))
    validity_hours: Mapped[int] = mapped_column(default=24)
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    cap_exempt: Mapped[bool] = mapped_column(default=False)  # set by an approver only

    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, 20), default=CampaignStatus.DRAFT, index=True
    )
    version: Mapped[int] = mapped_column(default=1)  # bumped by every edit
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the approver saw, frozen at submission; the hash is what approval binds to.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    # The audience's figures frozen with the snapshot (recipients per operator, devices, cost):
    # what the approver approves. Its members are the campaign's CampaignMember rows.
    frozen_reach: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Sending (dispatch.engine). Expansion streams the audience in id order and checkpoints the
    # last id written per channel, so a restarted job continues where it stopped.
    expand_cursor: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    expanded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Figures of the expansion not visible as ledger rows (e.g. duplicates across lists).
    expansion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Why the system paused it (auto-pause after gateway failures), shown to operators.
    pause_reason: Mapped[str | None] = mapped_column(Text)
    push_mode: Mapped[str | None] = mapped_column(String(8))  # devices | topic
    push_mode_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the push side stopped (e.g. the service account was refused); SMS goes on.
    push_blocked: Mapped[str | None] = mapped_column(Text)

    # What the campaign is: a campaign staff wrote (`campaign`), a test send of one to the test
    # list (`test`), a correction (đính chính) of a sent one (`correction`), or the
    # acknowledgements of replies to one (`ack`). All but `campaign` point at it by parent_id.
    kind: Mapped[str] = mapped_column(String(12), default="campaign", server_default="campaign")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)

    # Hearing back (dispatch.replies): none | free (any text) | survey (choices in `survey`:
    # {"question": str, "choices": [{"key": "1", "label": str, "keywords": [str]}]}), open for
    # reply_days after the launch; reply_ack is the acknowledgement SMS, if any.
    reply_mode: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    survey: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reply_days: Mapped[int] = mapped_column(default=7, server_default="7")
    reply_ack: Mapped[str | None] = mapped_column(Text)

    # Channel strategy (dispatch.campaigns.strategy): both | app_first | app_then_sms, and for
    # app_then_sms the minutes a push may stay unopened before its SMS fallback goes.
    strategy: Mapped[str] = mapped_column(String(16), default="both", server_default="both")
    fallback_minutes: Mapped[int | None] = mapped_column()

    phase: Mapped[Phase | None] = relationship()

    # One acknowledgement campaign per parent, even when two smpp processes take the first
    # answers at once (dispatch.replies.ack relies on it).
    __table_args__ = (Index("uq_campaigns_one_ack", "parent_id", unique=True,
                            postgresql_where=text("kind = 'ack'"),
                            sqlite_where=text("kind = 'ack'")),)


class CampaignMember(db.Model):  # type: ignore[name-defined]
    """One contact (SMS) or device (push) of a campaign's audience as frozen at submission.

    A launch reaches at most these: the expansion sends to the frozen members still in the
    audience, so members who join a list later are never sent a campaign approved without them.
    `held` is why a member was not counted in the approved figures (excluded, opt_out,
    device_disabled): such a member is never sent this campaign, even if that changes later.
    """

    __tablename__ = "campaign_members"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(4), primary_key=True)  # sms | push
    # contacts.id for SMS, devices.id for push (no FK: it points at one of two tables).
    recipient_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    held: Mapped[str | None] = mapped_column(String(16))


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    before_hash: Mapped[str | None] = mapped_column(String(64))
    after_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)


class Setting(db.Model):  # type: ignore[name-defined]
    """Settings admins change at run time (prices per operator, caps, default window)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
