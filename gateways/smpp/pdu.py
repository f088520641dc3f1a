"""SMPP 3.4 PDUs on the wire: header, C-strings, TLVs and the bodies the session uses.

Our own small codec rather than smpplib's: its per-field attribute machinery costs more CPU than
the whole rest of a submit, it writes an int field of value 0 as a single NUL whatever its size,
and its TLV table rejects or skips what it does not know. Here a body is parsed once into plain
values and unknown TLVs are kept as bytes. The tests cross-check this codec against smpplib's and
smpp34's parsers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">IIII")
MAX_PDU = 65536  # larger than any legal PDU (message_payload tops out at 64 KiB)

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
QUERY_SM = 0x00000003
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
RESP = 0x80000000  # a response's command_id is its request's with this bit set

BIND_COMMANDS = {"transceiver": BIND_TRANSCEIVER, "transmitter": BIND_TRANSMITTER,
                 "receiver": BIND_RECEIVER}

# Optional parameter tags used here.
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_SC_INTERFACE_VERSION = 0x0210
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427

ESM_CLASS_RECEIPT = 0x04  # SMSC delivery receipt (message type bits 2-5)
ESM_CLASS_UDHI = 0x40

INTERFACE_VERSION = 0x34


class PduError(ValueError):
    """A PDU body that does not parse."""


@dataclass(slots=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESP)


def encode(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(16 + len(body), command_id, status, sequence) + body


def decode(raw: bytes) -> Pdu:
    """One complete PDU (header included) into a `Pdu`."""
    if len(raw) < 16:
        raise PduError("PDU shorter than its header")
    length, command_id, status, sequence = HEADER.unpack_from(raw)
    if length != len(raw):
        raise PduError(f"command_length {length} but {len(raw)} octets")
    return Pdu(command_id, status, sequence, bytes(raw[16:]))


def cstring(value: str | bytes, limit: int | None = None) -> bytes:
    """A NUL-terminated field; `limit` counts the NUL, as the spec's sizes do."""
    data = value.encode("latin-1") if isinstance(value, str) else value
    if limit is not None and len(data) >= limit:
        raise PduError(f"{data!r} is longer than {limit - 1} octets")
    return data + b"\x00"


def read_cstring(body: bytes, pos: int) -> tuple[str, int]:
    end = body.find(b"\x00", pos)
    if end < 0:
        raise PduError(f"unterminated C-string at {pos}")
    return body[pos:end].decode("latin-1"), end + 1


def encode_tlvs(tlvs: dict[int, bytes]) -> bytes:
    return b"".join(struct.pack(">HH", tag, len(value)) + value for tag, value in tlvs.items())


def decode_tlvs(body: bytes, pos: int) -> dict[int, bytes]:
    """TLVs from `pos` to the end; every tag is kept, known or not."""
    tlvs: dict[int, bytes] = {}
    end = len(body)
    while pos < end:
        if pos + 4 > end:
            raise PduError("truncated TLV header")
        tag, length = struct.unpack_from(">HH", body, pos)
        pos += 4
        if pos + length > end:
            raise PduError(f"TLV 0x{tag:04X} runs past the PDU")
        tlvs[tag] = body[pos:pos + length]
        pos += length
    return tlvs


def tlv_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def tlv_cstring(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1")


# -- bind ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class Bind:
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def encode_body(self) -> bytes:
        return (cstring(self.system_id, 16) + cstring(self.password, 9)
                + cstring(self.system_type, 13)
                + bytes((self.interface_version, self.addr_ton, self.addr_npi))
                + cstring(self.address_range, 41))

    @classmethod
    def decode_body(cls, body: bytes) -> Bind:
        try:
            system_id, pos = read_cstring(body, 0)
            password, pos = read_cstring(body, pos)
            system_type, pos = read_cstring(body, pos)
            version, ton, npi = body[pos], body[pos + 1], body[pos + 2]
            address_range, _ = read_cstring(body, pos + 3)
        except IndexError as exc:
            raise PduError("truncated bind") from exc
        return cls(system_id, password, system_type, version, ton, npi, address_range)


def bind_resp_body(system_id: str) -> bytes:
    return cstring(system_id) + encode_tlvs({TLV_SC_INTERFACE_VERSION: bytes((INTERFACE_VERSION,))})


def message_id_body(message_id: str) -> bytes:
    """Body of submit_sm_resp (and deliver_sm_resp, whose message_id is unused and empty)."""
    return cstring(message_id)


def read_message_id(body: bytes) -> str:
    """message_id of a submit_sm_resp; an error response may carry no body at all."""
    if not body:
        return ""
    return read_cstring(body, 0)[0] if b"\x00" in body else body.decode("latin-1")


# -- submit_sm / deliver_sm (same layout) ----------------------------------------------------------

@dataclass(slots=True)
class ShortMessage:
    """The body of a submit_sm or a deliver_sm."""

    source_addr: str = ""
    destination_addr: str = ""
    short_message: bytes = b""
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def encode_body(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message is longer than 254 octets; use message_payload")
        return b"".join((
            cstring(self.service_type, 6),
            bytes((self.source_addr_ton, self.source_addr_npi)),
            cstring(self.source_addr, 21),
            bytes((self.dest_addr_ton, self.dest_addr_npi)),
            cstring(self.destination_addr, 21),
            bytes((self.esm_class, self.protocol_id, self.priority_flag)),
            cstring(self.schedule_delivery_time, 17),
            cstring(self.validity_period, 17),
            bytes((self.registered_delivery, self.replace_if_present_flag, self.data_coding,
                   self.sm_default_msg_id, len(self.short_message))),
            self.short_message,
            encode_tlvs(self.tlvs),
        ))

    @classmethod
    def decode_body(cls, body: bytes) -> ShortMessage:
        try:
            service_type, pos = read_cstring(body, 0)
            source_ton, source_npi = body[pos], body[pos + 1]
            source, pos = read_cstring(body, pos + 2)
            dest_ton, dest_npi = body[pos], body[pos + 1]
            destination, pos = read_cstring(body, pos + 2)
            esm_class, protocol_id, priority = body[pos], body[pos + 1], body[pos + 2]
            schedule, pos = read_cstring(body, pos + 3)
            validity, pos = read_cstring(body, pos)
            registered, replace, data_coding, default_id, sm_length = body[pos:pos + 5]
            pos += 5
        except (IndexError, ValueError) as exc:
            raise PduError("truncated short message body") from exc
        if pos + sm_length > len(body):
            raise PduError("sm_length runs past the PDU")
        message = body[pos:pos + sm_length]
        tlvs = decode_tlvs(body, pos + sm_length)
        return cls(source, destination, message, service_type, source_ton, source_npi,
                   dest_ton, dest_npi, esm_class, protocol_id, priority, schedule, validity,
                   registered, replace, data_coding, default_id, tlvs)

    @property
    def is_receipt(self) -> bool:
        return bool(self.esm_class & ESM_CLASS_RECEIPT)

    @property
    def payload(self) -> bytes:
        """short_message, or the message_payload TLV when short_message is empty."""
        if not self.short_message and TLV_MESSAGE_PAYLOAD in self.tlvs:
            return self.tlvs[TLV_MESSAGE_PAYLOAD]
        return self.short_message


class PduStream:
    """Cuts a byte stream into complete PDUs."""

    def __init__(self) -> None:
        self._buf = bytearray()  # the start of a PDU whose end has not come yet

    def feed(self, data: bytes | bytearray | memoryview) -> list[Pdu]:
        """Take `data`, give back every PDU now complete; raises PduError on a bad length.

        The PDUs of one read are cut in one pass, each body copied once, straight out of
        `data` (which may be a buffer the caller reuses: nothing refers to it afterwards);
        only the start of a PDU not complete yet is kept."""
        buf = self._buf
        if buf:
            buf += data
            source: bytes | bytearray | memoryview = buf
        else:
            source = data
        out: list[Pdu] = []
        with memoryview(source) as view:
            pos, end = 0, len(view)
            while end - pos >= 16:
                length, command_id, status, sequence = HEADER.unpack_from(view, pos)
                if length < 16 or length > MAX_PDU:
                    raise PduError(f"command_length {length} is not a PDU")
                if end - pos < length:
                    break
                out.append(Pdu(command_id, status, sequence,
                               view[pos + 16:pos + length].tobytes()))
                pos += length
            if source is not buf and pos < end:
                buf += view[pos:]
        if source is buf and pos:
            del buf[:pos]
        return out

    def wanted(self) -> int:
        """Bytes that would complete the header or, past it, the PDU being cut (a reader
        that reads exactly these learns when each PDU's last byte came)."""
        buf = self._buf
        if len(buf) < 16:
            return 16 - len(buf)
        length = HEADER.unpack_from(buf)[0]
        return max(1, length - len(buf))
