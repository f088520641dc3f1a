"""Webhooks: the receivers admins register, the outbox of events, deliveries and their attempts.

An event is written to `hook_events` (the outbox) in the transaction of the change it tells of;
the fan-out turns the outbox into `hook_deliveries` (one signed POST each: up to 100 events of
one kind for one hook, the body frozen so every retry sends the same bytes), and every POST is
a `hook_attempts` row. See dispatch.hooks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow


class Webhook(db.Model):  # type: ignore[name-defined]
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Fernet-encrypted with LOA_SECRETS_KEY (dispatch.access.secrets): Loa must sign with it, so
    # it is stored recoverable, never returned after it was shown once.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)  # a code (dispatch.hooks.registry)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The first failure of the current run of failures; cleared by a success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed attempts
    # While failing, one delivery at a time probes the receiver; the others wait until then.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class HookEvent(db.Model):  # type: ignore[name-defined]
    """The outbox: an event not yet turned into deliveries (deleted once it is)."""

    __tablename__ = "hook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HookDelivery(db.Model):  # type: ignore[name-defined]
    """One POST to one hook (retried until it succeeds or gives up)."""

    __tablename__ = "hook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # X-Loa-Delivery, for idempotency
    event: Mapped[str] = mapped_column(String(32))
    events: Mapped[int] = mapped_column(default=1)  # how many events the body carries
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent, every time
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker holds it while posting; a lapsed hold (a killed worker) frees it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_hook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_hook_deliveries_hook", "hook_id", "id"),
    )


class HookAttempt(db.Model):  # type: ignore[name-defined]
    __tablename__ = "hook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("hook_deliveries.id", ondelete="CASCADE"), index=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: no retry

    __table_args__ = (Index("ix_hook_attempts_hook", "hook_id", "at"),)
