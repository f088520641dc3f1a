"""PDU codec, status table, receipt/MO parsing and part building, without sockets."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
import smpplib.client
import smpplib.smpp

from gateways.errors import AuthFailed, Permanent, Retryable
from gateways.results import Receipt
from gateways.smpp import OutboundSms, normalise_id, parse_receipt, pdu, status
from gateways.smpp.inbound import Reassembler, mo_segment, normalise_state, split_udh
from gateways.smpp.message import (
    Addressing,
    PreparedPart,
    RefCounter,
    build_parts,
    encoded_parts,
    relative_validity,
    source_ton_npi,
)
from gateways.sms.encoding import decode

LONG_VI = ("Thông báo: UBND xã tổ chức tiêm chủng cho trẻ em dưới 5 tuổi vào sáng thứ Bảy "
           "tại trạm y tế xã. Đề nghị phụ huynh mang theo sổ tiêm chủng.")
LONG_GSM = ("Thong bao: UBND xa to chuc tiem chung cho tre em duoi 5 tuoi vao sang thu Bay tai "
            "tram y te xa. De nghi phu huynh mang theo so tiem chung va den dung gio {ke hoach}.")


def test_status_table_classes() -> None:
    assert status.lookup(0x58).cls == "throttle"
    assert status.lookup(0x14).cls == "throttle"
    assert status.lookup(0x08).cls == "retryable"
    assert status.lookup(0x0B).name == "ESME_RINVDSTADR"
    assert isinstance(status.error_for(0x0B), Permanent)
    assert isinstance(status.error_for(0x0A), Permanent)
    assert isinstance(status.error_for(0x45), Permanent)
    assert isinstance(status.error_for(0x0E), AuthFailed)
    throttled = status.error_for(0x58)
    assert isinstance(throttled, Retryable) and throttled.code == "0x58"
    assert status.error_for(0) is None
    # Unknown and vendor codes are retryable unless an account says otherwise.
    assert status.lookup(0x401).cls == "retryable"
    assert isinstance(status.error_for(0x401, {0x401: "permanent"}), Permanent)


def test_submit_sm_body_round_trips_and_smpplib_reads_it() -> None:
    message = pdu.ShortMessage(
        source_addr="LOA", source_addr_ton=5, destination_addr="84912345678", dest_addr_ton=1,
        dest_addr_npi=1, esm_class=0x40, registered_delivery=1, data_coding=8,
        validity_period="000001000000000R", short_message=b"\x05\x00\x03\x07\x02\x01abc",
        tlvs={0x1403: b"vendor"})
    raw = pdu.encode(pdu.SUBMIT_SM, 0, 77, message.encode_body())
    back = pdu.decode(raw)
    assert (back.command_id, back.sequence) == (pdu.SUBMIT_SM, 77)
    assert pdu.ShortMessage.decode_body(back.body) == message
    # An independent parser agrees (unknown TLVs allowed, as the design notes require).
    client = smpplib.client.Client("127.0.0.1", 1, allow_unknown_opt_params=True)
    parsed = smpplib.smpp.parse_pdu(raw, client=client, allow_unknown_opt_params=True)
    assert parsed.command == "submit_sm" and parsed.sequence == 77
    assert parsed.destination_addr == b"84912345678" and parsed.source_addr == b"LOA"
    assert parsed.short_message == message.short_message
    assert (parsed.esm_class, parsed.data_coding, parsed.registered_delivery) == (0x40, 8, 1)


def test_smpp34_codec_reads_our_pdus() -> None:
    smpp34 = pytest.importorskip("smpp34")
    body = pdu.ShortMessage(source_addr="8088", destination_addr="84987654321",
                            short_message="Xin chào".encode("utf-16-be"), data_coding=8,
                            tlvs={pdu.TLV_SAR_MSG_REF_NUM: b"\x00\x05"}).encode_body()
    decoded = smpp34.decode(pdu.encode(pdu.SUBMIT_SM, 0, 3, body))
    assert decoded.destination_addr == "84987654321"
    assert decoded.short_message.decode("utf-16-be") == "Xin chào"
    assert [(t.tag, t.value) for t in decoded.tlvs] == [(pdu.TLV_SAR_MSG_REF_NUM, b"\x00\x05")]


def test_stream_cuts_pdus_across_reads_and_rejects_bad_lengths() -> None:
    raw = b"".join(pdu.encode(pdu.ENQUIRE_LINK, 0, seq) for seq in range(1, 4))
    stream = pdu.PduStream()
    got = stream.feed(raw[:7]) + stream.feed(raw[7:40]) + stream.feed(raw[40:])
    assert [p.sequence for p in got] == [1, 2, 3]
    with pytest.raises(pdu.PduError):
        pdu.PduStream().feed(struct.pack(">IIII", 8, 0, 0, 0))


def _mixed_stream() -> tuple[bytes, list[pdu.Pdu]]:
    """PDUs of every size a link reads: a header alone, a response, a receipt with TLVs."""
    receipt = pdu.ShortMessage(
        source_addr="84912345678", destination_addr="LOA", esm_class=0x04,
        short_message=b"id:abc123 sub:001 dlvrd:001 submit date:2612031650 done "
                      b"date:2612031651 stat:DELIVRD err:000 text:",
        tlvs={pdu.TLV_RECEIPTED_MESSAGE_ID: b"abc123\x00", pdu.TLV_MESSAGE_STATE: b"\x02"})
    wanted = [pdu.Pdu(pdu.ENQUIRE_LINK, 0, 1),
              pdu.Pdu(pdu.SUBMIT_SM | pdu.RESP, 0, 2, pdu.message_id_body("abc123")),
              pdu.Pdu(pdu.DELIVER_SM, 0, 3, receipt.encode_body()),
              pdu.Pdu(pdu.SUBMIT_SM | pdu.RESP, 0x58, 4),
              pdu.Pdu(pdu.DELIVER_SM, 0, 5, receipt.encode_body())]
    raw = b"".join(pdu.encode(p.command_id, p.status, p.sequence, p.body) for p in wanted)
    return raw, wanted


def _reads(stream: pdu.PduStream, pieces: list[bytes]) -> list[pdu.Pdu]:
    """Feed `pieces` as the reader does: each read into one reused buffer, which the next
    read overwrites (a PDU or a kept start that still pointed into it would change)."""
    buffer = bytearray(512)
    view = memoryview(buffer)
    got: list[pdu.Pdu] = []
    for piece in pieces:
        buffer[:] = b"\xee" * len(buffer)
        buffer[:len(piece)] = piece
        got += stream.feed(view[:len(piece)])
    buffer[:] = b"\xee" * len(buffer)
    return got


def test_stream_cuts_pdus_split_at_every_byte_and_several_in_one_read() -> None:
    raw, wanted = _mixed_stream()
    assert len(raw) < 512
    assert _reads(pdu.PduStream(), [raw]) == wanted  # all in one read
    assert _reads(pdu.PduStream(), [raw[i:i + 1] for i in range(len(raw))]) == wanted
    for cut in range(1, len(raw)):
        assert _reads(pdu.PduStream(), [raw[:cut], raw[cut:]]) == wanted, cut
    for first in range(1, len(raw), 7):  # two cuts: a PDU's start kept over two reads
        for second in range(first + 1, len(raw)):
            pieces = [raw[:first], raw[first:second], raw[second:]]
            assert _reads(pdu.PduStream(), pieces) == wanted, (first, second)
    # bytes as well as views; what is fed once is never given back twice
    stream = pdu.PduStream()
    assert stream.feed(raw[:50]) + stream.feed(raw[50:]) == wanted
    assert stream.feed(b"") == [] and stream.wanted() == 16


def test_stream_wanted_counts_the_octets_left_of_the_pdu_being_cut() -> None:
    raw, wanted = _mixed_stream()
    stream = pdu.PduStream()
    assert stream.wanted() == 16
    assert stream.feed(raw[:10]) == [] and stream.wanted() == 6
    assert stream.feed(raw[10:16]) == [wanted[0]] and stream.wanted() == 16
    third = 16 + 16 + len(wanted[1].body)
    assert stream.feed(raw[16:third + 20]) == [wanted[1]]
    assert stream.wanted() == 16 + len(wanted[2].body) - 20


def test_bind_body_and_field_limits() -> None:
    bind = pdu.Bind("loa", "secret", "VMA")
    assert pdu.Bind.decode_body(bind.encode_body()) == bind
    with pytest.raises(pdu.PduError):
        pdu.Bind("loa", "waytoolongpassword").encode_body()


def _deliver(text: str = "", tlvs: dict[int, bytes] | None = None) -> pdu.ShortMessage:
    return pdu.ShortMessage(source_addr="84912345678", destination_addr="LOA", esm_class=0x04,
                            short_message=text.encode("ascii"), tlvs=tlvs or {})


def test_receipt_from_tlvs_first_then_text() -> None:
    receipt = parse_receipt(_deliver(
        "id:0000002A sub:001 dlvrd:001 submit date:2611260915 done date:2611260916 "
        "stat:UNDELIV err:069 text:Hello",
        {pdu.TLV_RECEIPTED_MESSAGE_ID: b"2a\x00", pdu.TLV_MESSAGE_STATE: b"\x02"}),
        id_format="hex", tz=timezone(timedelta(hours=7)))
    assert receipt.remote_id == "42"  # the TLV's id, normalised
    assert receipt.state == "DELIVRD"  # the TLV's state wins over the text
    assert receipt.error == "069"
    assert receipt.done_at == datetime(2026, 11, 26, 2, 16, tzinfo=UTC)
    assert receipt.msisdn == "84912345678"


@pytest.mark.parametrize(("text", "fmt", "expected"), [
    ("id:42 stat:DELIVRD", "dec", Receipt("42", "DELIVRD", None)),
    ("ID:2A STAT:EXPIRED ERR:0C", "hex", Receipt("42", "EXPIRED", "0C")),
    ("id:3F2504E0-4F89-11D3-9A0C-0305E82C3301 submit date:2611260915 stat:REJECTED",
     "uuid", Receipt("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "REJECTD", None)),
    ("id:abc", "raw", Receipt("abc", "UNKNOWN", None)),
    ("garbage", "raw", Receipt("", "UNKNOWN", None)),
])
def test_receipt_text_variants(text: str, fmt: str, expected: Receipt) -> None:
    receipt = parse_receipt(_deliver(text), id_format=fmt)  # type: ignore[arg-type]
    assert (receipt.remote_id, receipt.state, receipt.error) == (
        expected.remote_id, expected.state, expected.error)
    assert receipt.raw == text


def test_id_normalisation_makes_hex_and_decimal_meet() -> None:
    assert normalise_id("0000002A", "hex") == normalise_id("42", "dec") == "42"
    assert normalise_id(" 12ab\x00", "raw") == "12ab"
    assert normalise_id("not-hex", "hex") == "not-hex"  # kept, never dropped
    assert normalise_state("delivered") == "DELIVRD"
    assert normalise_state("whatever") == "UNKNOWN"


def test_parts_gsm7_udh_reference_increments_per_destination() -> None:
    refs = RefCounter(start=200)
    addressing = Addressing(source="LOA", validity=timedelta(hours=6))
    encoding, parts = build_parts(OutboundSms("1", "+84912345678", LONG_GSM * 2),
                                  addressing, refs)
    assert encoding == "gsm7" and len(parts) == 3
    bodies = [pdu.ShortMessage.decode_body(p.body) for p in parts]
    udhs = [split_udh(b.short_message) for b in bodies]
    assert [(s.ref, s.total, s.number) for s, _ in udhs if s] == [(200, 3, 1), (200, 3, 2),
                                                                   (200, 3, 3)]
    assert "".join(decode(payload, 0) for _, payload in udhs) == LONG_GSM * 2
    first = bodies[0]
    assert (first.source_addr, first.source_addr_ton, first.source_addr_npi) == ("LOA", 5, 0)
    assert (first.destination_addr, first.dest_addr_ton, first.esm_class) == ("84912345678", 1,
                                                                              0x40)
    assert first.validity_period == "000000060000000R" and first.registered_delivery == 1
    _, again = build_parts(OutboundSms("2", "84912345678", LONG_GSM * 2), addressing, refs)
    _, other = build_parts(OutboundSms("3", "84900000000", LONG_GSM * 2), addressing, refs)

    def ref_of(parts: tuple[PreparedPart, ...]) -> int:
        segment, _ = split_udh(pdu.ShortMessage.decode_body(parts[0].body).short_message)
        assert segment is not None
        return segment.ref

    assert ref_of(again) == 201  # same phone: the next reference
    assert ref_of(other) == 200  # another phone has its own sequence


def test_parts_cut_once_per_text_yet_addressed_and_referenced_per_message() -> None:
    """The cut is cached by text; what differs per message (destination, UDH reference) is not."""
    encoded_parts.cache_clear()
    refs = RefCounter(start=7)
    addressing = Addressing(source="LOA")
    built = [build_parts(OutboundSms(str(i), phone, LONG_VI), addressing, refs)[1]
             for i, phone in enumerate(["84911111111", "84911111111", "84922222222"])]
    assert encoded_parts.cache_info().misses == 1 and encoded_parts.cache_info().hits == 2
    bodies = [[pdu.ShortMessage.decode_body(p.body) for p in parts] for parts in built]
    assert [b[0].destination_addr for b in bodies] == ["84911111111", "84911111111",
                                                       "84922222222"]
    udh = [[split_udh(p.short_message) for p in message] for message in bodies]
    assert [[s.ref for s, _ in message if s] for message in udh] == [[7, 7, 7], [8, 8, 8],
                                                                      [7, 7, 7]]
    for message in udh:
        assert "".join(decode(data, 8) for _, data in message) == LONG_VI


def test_parts_ucs2_sar_and_payload_modes() -> None:
    refs = RefCounter(start=9)
    _, sar = build_parts(OutboundSms("1", "84912345678", LONG_VI), Addressing(concat="sar"), refs)
    bodies = [pdu.ShortMessage.decode_body(p.body) for p in sar]
    assert len(bodies) == 3 and all(b.data_coding == 8 and b.esm_class == 0 for b in bodies)
    assert [mo_segment(b)[0] for b in bodies][2].number == 3  # type: ignore[union-attr]
    assert "".join(b.short_message.decode("utf-16-be") for b in bodies) == LONG_VI
    _, payload = build_parts(OutboundSms("2", "84912345678", LONG_VI),
                             Addressing(concat="payload"), refs)
    assert len(payload) == 1
    body = pdu.ShortMessage.decode_body(payload[0].body)
    assert body.short_message == b"" and body.payload.decode("utf-16-be") == LONG_VI


def test_addressing_helpers() -> None:
    assert source_ton_npi("LOA HG") == (5, 0)
    assert source_ton_npi("8088") == (3, 0)
    assert source_ton_npi("+84912345678") == (1, 1)
    assert relative_validity(timedelta(days=2, minutes=5)) == "000002000500000R"


def test_reassembler_keeps_parts_until_stored() -> None:
    reassembler = Reassembler(timeout=60)
    first = pdu.ShortMessage(source_addr="849", destination_addr="8088", esm_class=0x40,
                             short_message=b"\x05\x00\x03\x01\x02\x01" + b"ab")
    second = pdu.ShortMessage(source_addr="849", destination_addr="8088", esm_class=0x40,
                              short_message=b"\x05\x00\x03\x01\x02\x02" + b"cd")
    seg1, data1 = mo_segment(first)
    seg2, data2 = mo_segment(second)
    assert seg1 is not None and seg2 is not None
    assert reassembler.add(second, seg2, data2) is None
    assert reassembler.add(first, seg1, data1) == b"abcd"
    assert reassembler.add(first, seg1, data1) == b"abcd"  # a redelivered part completes again
    reassembler.done(reassembler.key(first, seg1))
    assert len(reassembler) == 0
    reassembler.timeout = 0
    reassembler.add(first, seg1, data1)
    [(_, inbound)] = reassembler.expired()
    assert inbound.text == "ab" and inbound.extra["incomplete"] == "1/2"
