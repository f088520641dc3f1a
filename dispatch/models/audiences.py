"""Who can be reached: localities, contacts, lists, imports, opt-outs and app devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.extensions import db
from dispatch.models.common import BigId, UTCDateTime, utcnow

# Original carriers as phonenumbers names them, mapped to the short codes Loa stores.
OPERATORS = ("viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "itelecom", "other")
CHANNELS = ("sms", "push")


class Locality(db.Model):  # type: ignore[name-defined]
    """A district or commune; data the department edits (boundaries change, e.g. 1 July 2025)."""

    __tablename__ = "localities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="district")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    active: Mapped[bool] = mapped_column(default=True)


class Contact(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, "+84912345678"
    operator: Mapped[str] = mapped_column(String(16))  # original carrier, from the prefix
    # A ported number keeps its prefix but moved operator: this wins over `operator`.
    operator_override: Mapped[str | None] = mapped_column(String(16))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    # The name lower-cased without diacritics ('nguyen van an'), for search on any database;
    # kept in step by dispatch.audiences.contacts and the import writer.
    name_folded: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def effective_operator(self) -> str:
        return self.operator_override or self.operator


class ContactList(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contact_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ListMember(db.Model):  # type: ignore[name-defined]
    __tablename__ = "list_members"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    __table_args__ = (Index("ix_list_members_contact_id", "contact_id"),)


class ContactImport(db.Model):  # type: ignore[name-defined]
    """One upload into a list, with its row-by-row report."""

    __tablename__ = "contact_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|completed|failed
    total_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    new_contacts: Mapped[int] = mapped_column(default=0)
    duplicate_rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    # [{"line": 7, "column": "phone", "value": "...", "reason": "..."}], capped in length.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Rows imported with a caveat (a locality not found, a title row above the header): same
    # shape as `errors`, capped alike.
    warning_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    encoding: Mapped[str | None] = mapped_column(String(32))  # what a CSV was read as
    message: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OptOut(db.Model):  # type: ignore[name-defined]
    """An address that must never be sent to on a channel (msisdn for SMS, installation for push).

    Keyed by address rather than contact so an opt-out outlives the contact and applies to numbers
    imported later.
    """

    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # keyword | staff | api
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "address"),)


class Device(db.Model):  # type: ignore[name-defined]
    """An installation of the province app that can receive pushes."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    installation_id: Mapped[str] = mapped_column(String(128), unique=True)
    # None once the installation gave it up (unregistered, or the token moved to another
    # installation): tokens are unique, and a disabled device keeps its row for the ledger.
    fcm_token: Mapped[str | None] = mapped_column(String(512), unique=True)
    platform: Mapped[str] = mapped_column(String(16))  # android | ios | web
    app_version: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(16))
    locality_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_reason: Mapped[str | None] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The phone number of the app's signed-in user, as the app told it (E.164). Verified only
    # when an app key that verifies numbers sent it (dispatch.push.numbers); a claimed number
    # never decides a channel. One number may have several devices, a device one number.
    msisdn: Mapped[str | None] = mapped_column(String(16), index=True)
    msisdn_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
