"""Plain values the gateways hand back to the dispatch side (no Flask, no SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the far end said about one message: the id(s) it gave, one per SMS part."""

    ref: str  # the caller's reference (the ledger row id, as text)
    remote_ids: tuple[str, ...]  # SMSC message ids (normalised) or FCM message names
    parts: int = 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt: the SMSC's id of one part and what happened to it."""

    remote_id: str  # normalised the same way as SendResult.remote_ids
    state: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, ACCEPTD, ENROUTE, UNKNOWN
    error: str | None = None  # the SMSC's err: field / network error code
    done_at: datetime | None = None
    raw: str = ""
    msisdn: str | None = None  # the phone the receipt is about, when the far end says
    payload: bytes = b""  # the short_message octets as received (raw is their decoded text)


@dataclass(frozen=True, slots=True)
class Inbound:
    """An MO message from a phone (e.g. an opt-out keyword)."""

    source: str
    destination: str
    text: str
    received_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    payload: bytes = b""  # the short_message octets as received (UDH removed), text decoded


@dataclass(frozen=True, slots=True)
class Fragment:
    """One part of a concatenated MO message, for an owner that keeps the parts itself.

    `ref`/`total` come from the UDH or SAR TLVs; `number` is 1-based. The owner joins the
    payloads of parts 1..total in order and decodes them by `data_coding`
    (`gateways.smpp.inbound.decode_text`).
    """

    source: str
    destination: str
    ref: int
    total: int
    number: int
    payload: bytes
    data_coding: int = 0
    service_type: str = ""
    received_at: datetime | None = None
