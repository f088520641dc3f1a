"""Operator links: SMPP accounts (one per SMSC account Loa binds to)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import UTCDateTime, utcnow


class SmppAccount(db.Model):  # type: ignore[name-defined]
    __tablename__ = "smpp_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column()
    system_id: Mapped[str] = mapped_column(String(16))  # SMPP 3.4 limit
    # Fernet-encrypted with LOA_SECRETS_KEY; never returned by the API, never logged.
    password_encrypted: Mapped[str] = mapped_column(Text)
    system_type: Mapped[str] = mapped_column(String(13), default="")
    bind_mode: Mapped[str] = mapped_column(String(8), default="trx")  # trx | tx_rx
    binds: Mapped[int] = mapped_column(default=1)
    tps: Mapped[int] = mapped_column(default=50)  # PDUs per second, all binds together
    window: Mapped[int] = mapped_column(default=10)  # outstanding submit_sm per bind
    # How the throttle paces: per_second | spacing (gateways.smpp.throttle).
    pacing: Mapped[str] = mapped_column(String(12), default="per_second",
                                        server_default="per_second")
    brandnames: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_ton: Mapped[int] = mapped_column(default=5)  # alphanumeric
    source_npi: Mapped[int] = mapped_column(default=0)
    validity_minutes: Mapped[int] = mapped_column(default=24 * 60)
    operators: Mapped[list[str]] = mapped_column(JSON, default=list)  # whose numbers it carries
    is_default: Mapped[bool] = mapped_column(default=False)  # takes operators no one else does
    # How the SMSC writes message ids in submit_sm_resp vs receipts: auto | hex | dec | str.
    id_format: Mapped[str] = mapped_column(String(8), default="auto")
    concat: Mapped[str] = mapped_column(String(8), default="udh")  # udh | sar | payload
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
