"""What an SMSC sends us in deliver_sm: delivery receipts and MO messages.

Receipts (esm_class bit 0x04) are read from the `receipted_message_id` / `message_state` TLVs
first, then from the text (`id:`, `stat:`, `err:`, `done date:`), tolerating missing fields: SMSCs
differ, some send UUID ids, some omit `sub:`/`dlvrd:`/`text:`. MO messages are decoded by their
data_coding and reassembled from their parts (8-bit or 16-bit concatenation UDH, or SAR TLVs):
in memory by the `Reassembler`, or by an owner that stores each part as it comes (`Fragment`).
Every event carries the octets it was decoded from (`payload`), so nothing is lost to decoding.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from gateways.results import Fragment, Inbound, Receipt
from gateways.smpp import pdu
from gateways.smpp.message import IdFormat, normalise_id
from gateways.sms import encoding as sms

# message_state TLV values (SMPP 3.4 section 5.2.28) in the receipt text's spelling.
STATE_BY_TLV = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
STATES = frozenset(STATE_BY_TLV.values())
_STAT_ALIASES = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "ACCEPTED": "ACCEPTD",
                 "REJECTED": "REJECTD", "EXPIRD": "EXPIRED", "DELETD": "DELETED",
                 "UNKNOWN": "UNKNOWN", "FAILED": "UNDELIV"}

_ID = re.compile(r"\bid:\s*(\S+)", re.IGNORECASE)
_STAT = re.compile(r"\bstat:\s*(\w+)", re.IGNORECASE)
_ERR = re.compile(r"\berr:\s*(\w+)", re.IGNORECASE)
_DONE = re.compile(r"\bdone[ _]date:\s*(\d{10,12})", re.IGNORECASE)


def normalise_state(value: str) -> str:
    state = value.strip().upper()
    if state in STATES:
        return state
    return _STAT_ALIASES.get(state, "UNKNOWN")


def parse_smpp_date(value: str, tz: tzinfo) -> datetime | None:
    """`YYMMDDhhmm[ss]` in the SMSC's time zone, as an aware UTC datetime (None if invalid).

    Read by slicing, not strptime (several times slower; every receipt has one). Years 69-99
    are 19xx and 00-68 20xx, as strptime's %y.
    """
    digits = value[:12] if len(value) >= 12 else value
    if len(digits) not in (10, 12) or not (digits.isascii() and digits.isdigit()):
        return None
    year = int(digits[0:2])
    try:
        stamp = datetime(year + (1900 if year >= 69 else 2000), int(digits[2:4]),
                         int(digits[4:6]), int(digits[6:8]), int(digits[8:10]),
                         int(digits[10:12] or 0), tzinfo=tz)
    except ValueError:
        return None
    return stamp.astimezone(UTC)


# Octets that mean the same character in GSM-7 and ASCII (letters, digits, space, most
# punctuation; not @ $ _ [ ] ...): a receipt's text is usually made only of these.
_SAME_AS_ASCII = bytes(b for b in range(0x80) if b != 0x1B
                       and sms.decode_gsm7(bytes((b,))) == chr(b))


def decode_text(data: bytes, data_coding: int) -> str:
    """Text of a short_message by data_coding; never raises (bad octets become U+FFFD)."""
    if data_coding == sms.DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    if data_coding == sms.DATA_CODING_GSM7:
        if not data.translate(None, _SAME_AS_ASCII):  # only those octets: decode in C
            return data.decode("ascii")
        try:
            return sms.decode_gsm7(data)
        except ValueError:
            return data.decode("latin-1")
    return data.decode("latin-1")


def parse_receipt(message: pdu.ShortMessage, *, id_format: IdFormat = "raw",
                  tz: tzinfo = UTC) -> Receipt:
    """A Receipt from a deliver_sm whose esm_class says it is one."""
    text = decode_text(message.payload, message.data_coding)
    tlvs = message.tlvs
    remote_id = ""
    if pdu.TLV_RECEIPTED_MESSAGE_ID in tlvs:
        remote_id = pdu.tlv_cstring(tlvs[pdu.TLV_RECEIPTED_MESSAGE_ID])
    if not remote_id and (found := _ID.search(text)):
        remote_id = found.group(1)
    state = ""
    if tlvs.get(pdu.TLV_MESSAGE_STATE):
        state = STATE_BY_TLV.get(pdu.tlv_int(tlvs[pdu.TLV_MESSAGE_STATE]), "")
    if not state:
        found = _STAT.search(text)
        state = normalise_state(found.group(1)) if found else "UNKNOWN"
    error: str | None = None
    if found := _ERR.search(text):
        error = found.group(1)
    elif len(tlvs.get(pdu.TLV_NETWORK_ERROR_CODE, b"")) == 3:
        kind, code = struct.unpack(">BH", tlvs[pdu.TLV_NETWORK_ERROR_CODE])
        error = f"{kind}:{code}"
    done = _DONE.search(text)
    return Receipt(
        remote_id=normalise_id(remote_id, id_format),
        state=state,
        error=error,
        done_at=parse_smpp_date(done.group(1), tz) if done else None,
        raw=text,
        msisdn=message.source_addr or None,
        payload=message.payload,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """Where one MO part belongs: its concatenation reference, count and number (1-based)."""

    ref: int
    total: int
    number: int


def split_udh(data: bytes) -> tuple[Segment | None, bytes]:
    """The concatenation info of a UDH-prefixed short_message and the payload after the UDH."""
    if not data:
        return None, data
    length = data[0]
    header, payload = data[1:1 + length], data[1 + length:]
    pos, segment = 0, None
    while pos + 2 <= len(header):
        iei, size = header[pos], header[pos + 1]
        value = header[pos + 2:pos + 2 + size]
        if iei == 0x00 and size == 3:
            segment = Segment(value[0], value[1], value[2])
        elif iei == 0x08 and size == 4:
            segment = Segment(int.from_bytes(value[:2], "big"), value[2], value[3])
        pos += 2 + size
    return segment, payload


def mo_segment(message: pdu.ShortMessage) -> tuple[Segment | None, bytes]:
    """Concatenation info (UDH or SAR TLVs) and the payload of an MO deliver_sm."""
    data = message.payload
    if message.esm_class & pdu.ESM_CLASS_UDHI:
        segment, data = split_udh(data)
        if segment is not None:
            return segment, data
    tlvs = message.tlvs
    if pdu.TLV_SAR_MSG_REF_NUM in tlvs and pdu.TLV_SAR_TOTAL_SEGMENTS in tlvs:
        return Segment(pdu.tlv_int(tlvs[pdu.TLV_SAR_MSG_REF_NUM]),
                       pdu.tlv_int(tlvs[pdu.TLV_SAR_TOTAL_SEGMENTS]),
                       pdu.tlv_int(tlvs.get(pdu.TLV_SAR_SEGMENT_SEQNUM, b"\x01"))), data
    return None, data


def make_inbound(message: pdu.ShortMessage, payload: bytes, parts: int = 1,
                 incomplete: str | None = None) -> Inbound:
    extra = {"data_coding": str(message.data_coding), "parts": str(parts)}
    if message.service_type:
        extra["service_type"] = message.service_type
    if incomplete:
        extra["incomplete"] = incomplete
    return Inbound(source=message.source_addr, destination=message.destination_addr,
                   text=decode_text(payload, message.data_coding),
                   received_at=datetime.now(UTC), extra=extra, payload=payload)


def make_fragment(message: pdu.ShortMessage, segment: Segment, payload: bytes) -> Fragment:
    return Fragment(source=message.source_addr, destination=message.destination_addr,
                    ref=segment.ref, total=segment.total, number=segment.number,
                    payload=payload, data_coding=message.data_coding,
                    service_type=message.service_type, received_at=datetime.now(UTC))


@dataclass
class _Pending:
    first: pdu.ShortMessage
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


class Full(Exception):
    """The Reassembler holds `limit` unfinished messages already: refuse the part for now."""


class Reassembler:
    """Collects the parts of concatenated MO messages until each is whole, in memory.

    `add` returns the whole payload when the last part arrives; the entry stays until `done`
    (called once the owner stored the message), so a redelivered last part completes it again.
    `expired` hands back what waited longer than `timeout`, marked incomplete, so nothing that
    was acknowledged to the SMSC is silently dropped. At most `limit` messages wait at once: a
    part that would start one more raises `Full` (answer it with a temporary error; the SMSC
    delivers it again later), so a flood of parts cannot grow the process without end. An owner
    that stores parts as they come (the dispatch side) does not use this class at all.
    """

    def __init__(self, timeout: float = 300.0, limit: int = 10_000) -> None:
        self.timeout = timeout
        self.limit = limit
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    @staticmethod
    def key(message: pdu.ShortMessage, segment: Segment) -> tuple[str, str, int, int]:
        return (message.source_addr, message.destination_addr, segment.ref, segment.total)

    def add(self, message: pdu.ShortMessage, segment: Segment, payload: bytes) -> bytes | None:
        key = self.key(message, segment)
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                if len(self._pending) >= self.limit:
                    raise Full(f"{self.limit} concatenated MO messages unfinished")
                entry = self._pending[key] = _Pending(message, segment.total)
            entry.parts[segment.number] = payload
            if len(entry.parts) < entry.total:
                return None
            return b"".join(entry.parts[n] for n in sorted(entry.parts))

    def done(self, key: tuple[str, str, int, int]) -> None:
        with self._lock:
            self._pending.pop(key, None)

    def expired(self) -> list[tuple[tuple[str, str, int, int], Inbound]]:
        limit = time.monotonic() - self.timeout
        out = []
        with self._lock:
            for key, entry in self._pending.items():
                if entry.started < limit:
                    payload = b"".join(entry.parts[n] for n in sorted(entry.parts))
                    out.append((key, make_inbound(entry.first, payload, len(entry.parts),
                                                  incomplete=f"{len(entry.parts)}/{entry.total}")))
        return out

    def __len__(self) -> int:
        return len(self._pending)
