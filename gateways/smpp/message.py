"""From one outbound SMS to the submit_sm bodies of its parts.

The text arrives already chosen (with or without diacritics); `gateways.sms.split` picks the
encoding and cuts it. Concatenation, per account (`concat`):
- `udh`: an 8-bit concatenation UDH (IEI 0x00) in short_message, esm_class 0x40; the reference
  increments per destination (see `RefCounter`);
- `sar`: the same reference in the sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs;
- `payload`: the whole text in one submit_sm's message_payload TLV (the SMSC cuts it; one PDU).

A campaign sends one text to every recipient, so the encoding, the cut and the encoded payloads
are computed once per text (`encoded_parts`, a small LRU cache) and only the addresses, the
validity and the UDH reference are written per message.
"""

from __future__ import annotations

import os
import re
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Literal

from gateways.smpp import pdu
from gateways.sms import encoding as sms

Concat = Literal["udh", "sar", "payload"]
IdFormat = Literal["raw", "hex", "dec", "uuid"]


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One message to one phone, as the dispatch side hands it to a session."""

    ref: str  # the caller's reference (ledger row id), echoed in the outcome
    destination: str  # digits, international format (84...); a leading + is dropped
    text: str  # the final text: the session only encodes and cuts it
    source: str | None = None  # brandname or number; the session's default when None
    source_ton: int | None = None  # None: 5/0 for a brandname, 1/1 for digits
    source_npi: int | None = None
    validity: timedelta | None = None  # the session's default when None


@dataclass(frozen=True, slots=True)
class PreparedPart:
    number: int  # 1-based
    total: int
    body: bytes  # a ready submit_sm body; only the header is added per attempt


@dataclass(frozen=True, slots=True)
class Addressing:
    """The per-account values that go into every submit_sm."""

    source: str = ""
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    service_type: str = ""
    registered_delivery: int = 1
    validity: timedelta | None = None
    concat: Concat = "udh"


_DIGITS = re.compile(r"^\+?\d+$")


def source_ton_npi(source: str) -> tuple[int, int]:
    """TON/NPI of a sender: alphanumeric 5/0, short code 3/0, international number 1/1."""
    if not _DIGITS.match(source):
        return 5, 0
    return (3, 0) if len(source.lstrip("+")) <= 6 else (1, 1)


def relative_validity(period: timedelta) -> str:
    """SMPP relative time `YYMMDDhhmmss000R`, at most 99 days."""
    seconds = max(0, min(int(period.total_seconds()), 99 * 86400))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


class RefCounter:
    """Concatenation references that increment per destination, in bounded memory.

    Destinations hash into a fixed table of counters, so two messages to the same phone always
    get successive references (phones keep parts apart by reference and sender). The table
    starts at a per-process offset so a restarted process does not reuse the references it gave
    a moment ago.
    """

    def __init__(self, buckets: int = 65536, start: int | None = None) -> None:
        self._buckets = buckets
        seed = start if start is not None else (os.getpid() + int(time.time())) & 0xFF
        self._next = bytearray([seed & 0xFF]) * buckets

    def next(self, destination: str) -> int:
        index = zlib.crc32(destination.encode()) % self._buckets
        ref = self._next[index]
        self._next[index] = (ref + 1) & 0xFF
        return ref


def udh_concat8(ref: int, total: int, number: int) -> bytes:
    return bytes((0x05, 0x00, 0x03, ref & 0xFF, total, number))


@lru_cache(maxsize=64)
def encoded_parts(text: str) -> tuple[str, int, tuple[bytes, ...]]:
    """(encoding, data_coding, each part's short_message without UDH) of `text`, cut as sent.

    Cached per text (immutable values: safe to share between threads and messages); raises
    ValueError, uncached, for a text that cannot be encoded.
    """
    split = sms.split(text)
    return split.encoding, split.data_coding, split.payloads()


@lru_cache(maxsize=64)
def encoded_whole(text: str) -> tuple[str, int, bytes]:
    """(encoding, data_coding, the whole text encoded) for `message_payload`; cached per text."""
    analysis = sms.analyse(text)
    return analysis.encoding, analysis.data_coding, sms.encode(text, analysis.encoding)


def build_parts(message: OutboundSms, addressing: Addressing,
                refs: RefCounter) -> tuple[str, tuple[PreparedPart, ...]]:
    """The encoding chosen and the submit_sm body of each part, in order."""
    destination = message.destination.lstrip("+")
    source = message.source if message.source is not None else addressing.source
    auto_ton, auto_npi = source_ton_npi(source)
    ton = message.source_ton if message.source_ton is not None else addressing.source_ton
    npi = message.source_npi if message.source_npi is not None else addressing.source_npi
    validity = message.validity if message.validity is not None else addressing.validity
    base = pdu.ShortMessage(
        source_addr=source.lstrip("+") if _DIGITS.match(source) else source,
        destination_addr=destination,
        service_type=addressing.service_type,
        source_addr_ton=auto_ton if ton is None else ton,
        source_addr_npi=auto_npi if npi is None else npi,
        dest_addr_ton=addressing.dest_ton,
        dest_addr_npi=addressing.dest_npi,
        validity_period=relative_validity(validity) if validity else "",
        registered_delivery=addressing.registered_delivery,
    )
    if addressing.concat == "payload":
        encoding, base.data_coding, whole = encoded_whole(message.text)
        base.tlvs = {pdu.TLV_MESSAGE_PAYLOAD: whole}
        return encoding, (PreparedPart(1, 1, base.encode_body()),)

    encoding, base.data_coding, payloads = encoded_parts(message.text)
    total = len(payloads)
    if total == 1:
        base.short_message = payloads[0]
        return encoding, (PreparedPart(1, 1, base.encode_body()),)
    ref = refs.next(destination)  # per destination, never cached with the text
    parts = []
    for number, payload in enumerate(payloads, start=1):
        if addressing.concat == "udh":
            base.esm_class = pdu.ESM_CLASS_UDHI
            base.short_message = udh_concat8(ref, total, number) + payload
        else:
            base.short_message = payload
            base.tlvs = {pdu.TLV_SAR_MSG_REF_NUM: struct.pack(">H", ref),
                         pdu.TLV_SAR_TOTAL_SEGMENTS: bytes((total,)),
                         pdu.TLV_SAR_SEGMENT_SEQNUM: bytes((number,))}
        parts.append(PreparedPart(number, total, base.encode_body()))
    return encoding, tuple(parts)


def normalise_id(value: str, fmt: IdFormat) -> str:
    """An SMSC message id in one canonical form, so submit and receipt ids compare equal.

    `hex` and `dec` both become the decimal integer (an SMSC that answers submit_sm in hex and
    writes receipts in decimal is common); `uuid` the lower-case hyphenated form; `raw` the id
    stripped. An id that does not parse in the announced format is kept stripped, never dropped.
    """
    text = value.strip().strip("\x00").strip()
    try:
        if fmt == "hex":
            return str(int(text, 16))
        if fmt == "dec":
            return str(int(text, 10))
        if fmt == "uuid":
            return str(uuid.UUID(text))
    except ValueError:
        return text
    return text
