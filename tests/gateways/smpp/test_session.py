"""The session over real sockets against the stand-in SMSC."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gateways.errors import AuthFailed, Permanent, Unknowable
from gateways.results import Fragment
from gateways.smpp import (
    Ack,
    DeliverEvent,
    LocalThrottle,
    OutboundSms,
    Session,
    SubmitHandle,
    answers_together,
    pdu,
)
from gateways.smpp import status as codes
from gateways.smpp.delivery import Deliveries, hold_answer
from gateways.smpp.inbound import split_udh
from gateways.smpp.message import RefCounter
from gateways.sms.encoding import decode
from scripts.harness import wait_for
from scripts.smsc import Smsc
from tests.helpers.smpp import GSM_LONG, VI_LONG, Store


def reassemble(smsc: Smsc, destination: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The text the phone would show from what the stand-in accepted, and the UDH of each part."""
    records = [r for r in smsc.received(destination) if r.status == 0]
    segments = []
    text = ""
    for record in records:
        segment, payload = split_udh(record.short_message) if record.udh else (None, b"")
        if segment is not None:
            segments.append((segment.ref, segment.total, segment.number))
            text += decode(payload, record.data_coding)
        else:
            text += record.text
    return text, segments


def test_multipart_gsm7_and_ucs2_arrive_in_order_with_udh(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    # the counter starts at 255 so the second message to a phone wraps to 0 (CI once drew 255)
    session = make_session(window=10, refs=RefCounter(start=255))
    outcomes = session.submit_many([
        OutboundSms("gsm", "84911111111", GSM_LONG),
        OutboundSms("vi", "84922222222", VI_LONG),
        OutboundSms("vi-again", "84922222222", VI_LONG),
        OutboundSms("short", "84933333333", "Chào bạn"),
    ], timeout=10)
    assert all(o.ok for o in outcomes), outcomes
    assert [o.encoding for o in outcomes] == ["gsm7", "ucs2", "ucs2", "ucs2"]
    assert [len(o.parts) for o in outcomes] == [2, 3, 3, 1]
    ids = [pid for o in outcomes for pid in o.remote_ids]
    assert len(set(ids)) == len(ids) == 9

    text, segments = reassemble(smsc, "84911111111")
    assert text == GSM_LONG
    assert [(total, n) for _, total, n in segments] == [(2, 1), (2, 2)]
    records = smsc.received("84922222222")
    assert all(r.data_coding == 8 and r.esm_class == 0x40 for r in records)
    _, segments = reassemble(smsc, "84922222222")
    refs = sorted({ref for ref, _, _ in segments})
    assert refs == [0, 255]  # incremented per phone (255, then 0), not random
    for ref in refs:  # the parts of each message in order (two messages may interleave)
        assert [n for r, _, n in segments if r == ref] == [1, 2, 3]
        payloads = [split_udh(r.short_message) for r in records]
        assert decode(b"".join(p for seg, p in payloads if seg and seg.ref == ref), 8) == VI_LONG
    short = smsc.received("84933333333")[0]
    assert (short.esm_class, short.udh, short.text) == (0, b"", "Chào bạn")
    assert (short.source, short.source_ton, short.source_npi) == ("LOA", 5, 0)
    assert short.registered_delivery == 1


def test_window_is_never_exceeded(smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=0.03, window=5)  # the stand-in refuses a sixth with 0x14
    session = make_session(window=5)
    outcomes = session.submit_many(
        [OutboundSms(str(i), f"849{i:08d}", "Hello") for i in range(60)], timeout=20)
    assert all(o.ok for o in outcomes)
    stats = smsc.stats()
    assert max(stats["max_outstanding"].values()) == 5
    assert stats.get("refused_0x14", 0) == 0
    assert stats["accepted"] == 60


def test_queue_full_answers_are_resent_and_nothing_is_lost(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=0.02, window=3)
    session = make_session(window=8)  # larger than the SMSC allows: it answers 0x14
    outcomes = session.submit_many(
        [OutboundSms(str(i), f"849{i:08d}", GSM_LONG) for i in range(12)], timeout=30)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert smsc.stats()["refused_0x14"] > 0
    for i in range(12):  # each part accepted once, in order
        _, segments = reassemble(smsc, f"849{i:08d}")
        assert [n for _, _, n in segments] == [1, 2]


def test_throttle_storm_slows_down_and_loses_nothing(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(tps=40)
    throttle = LocalThrottle(400, debounce=0.2, rise=0.02)
    session = make_session(window=20, throttle=throttle)
    # The factor after each cut: read at the end it has risen again, and how far depends on
    # how long a loaded machine took to get there.
    lows: list[float] = []
    cut = throttle.penalise

    def penalise(crowded: bool = True) -> None:
        cut(crowded)
        lows.append(throttle.factor)

    throttle.penalise = penalise  # type: ignore[method-assign]
    started = time.monotonic()
    outcomes = session.submit_many(
        [OutboundSms(str(i), f"849{i:08d}", GSM_LONG) for i in range(50)], timeout=40)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    stats = smsc.stats()
    assert stats["refused_0x58"] > 0 and stats["accepted"] == 100
    # The rate was cut more than once: a cut is at most every debounce (0.2 s) and the factor
    # rises 0.02 a second between them, so two cuts leave it below 0.9 × 0.9 + 0.02 at most.
    # (It used to ask for four cuts: a loaded machine sends fewer PDUs in the storm's seconds,
    # and once gave three.)
    assert min(lows) < 0.85
    assert session.status().throttled == stats["refused_0x58"]
    assert time.monotonic() - started >= 1.0  # 100 PDUs at 40/s cannot take less
    for i in range(50):
        text, segments = reassemble(smsc, f"849{i:08d}")
        assert text == GSM_LONG and [n for _, _, n in segments] == [1, 2]


def test_receipts_before_responses_reach_the_callback(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(receipt_before_resp=True, id_format="hex", receipt_id_format="dec",
             outcomes={"DELIVRD": 1.0})
    store = Store()
    session = make_session(on_deliver=store, id_format="hex", receipt_id_format="dec")
    seen_before: list[bool] = []
    handle = session.submit(OutboundSms("1", "84912345678", GSM_LONG))

    def watch() -> None:
        wait_for(lambda: bool(store.receipts), 5)
        seen_before.append(not handle.done())

    watcher = threading.Thread(target=watch)
    watcher.start()
    outcome = handle.wait(5)
    watcher.join()
    assert outcome is not None and outcome.ok
    assert seen_before == [True]  # the first receipt came while its submit was unanswered
    assert wait_for(lambda: len(store.receipts) == 2)
    # hex in submit_sm_resp, decimal in the receipt: normalised to the same id
    assert sorted(r.remote_id for r in store.receipts) == sorted(
        i or "" for i in outcome.remote_ids)
    assert {r.state for r in store.receipts} == {"DELIVRD"}


def test_store_failure_answers_temporary_error_and_smsc_redelivers(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(outcomes={"UNDELIV": 1.0})
    store = Store(fail_first=3)
    session = make_session(on_deliver=store)
    outcomes = session.submit_many(
        [OutboundSms(str(i), f"849{i:08d}", "Hi") for i in range(5)], timeout=5)
    assert wait_for(lambda: len(store.receipts) == 5)
    assert smsc.wait_for(lambda s: s.get("receipts_acked") == 5)
    assert smsc.stats()["receipts_refused"] == 3
    assert sorted(r.remote_id for r in store.receipts) == sorted(
        o.remote_ids[0] or "" for o in outcomes)
    assert {(r.state, r.error) for r in store.receipts} == {("UNDELIV", "001")}
    assert session.status().receipts == 5


def test_deferred_ack_answers_when_the_owner_says(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    waiting: list[tuple[DeliverEvent, Ack]] = []
    session = make_session(on_deliver_later=lambda event, ack: waiting.append((event, ack)))
    session.submit_many([OutboundSms("1", "84912345678", "Hi")], timeout=5)
    assert wait_for(lambda: len(waiting) == 1)
    assert smsc.stats().get("receipts_acked", 0) == 0
    waiting[0][1](True)  # e.g. after a batched commit, from another thread
    assert smsc.wait_for(lambda s: s.get("receipts_acked") == 1, 5)


def test_the_stand_in_keeps_a_window_of_unanswered_deliveries(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    # As an operator's SMSC does (and the MO benchmark's --deliver-window): at most 2 deliver_sm
    # wait for their answer; the others follow, in order, as answers come.
    smsc.set(deliver_window=2)
    waiting: list[tuple[DeliverEvent, Ack]] = []
    make_session(on_deliver_later=lambda event, ack: waiting.append((event, ack)))
    for i in range(5):
        smsc.send_mo("loa", f"8491234567{i}", "8088", f"{i}")
    assert smsc.stats()["mos_sent"] == 2  # written when sent: the other three wait
    assert wait_for(lambda: len(waiting) == 2)
    waiting[0][1](True)
    waiting[1][1](False)  # refused: delivered again later, behind the ones waiting
    assert wait_for(lambda: len(waiting) == 4)
    for _, ack in waiting[2:4]:
        ack(True)
    assert wait_for(lambda: len(waiting) == 6)
    for _, ack in waiting[4:]:
        ack(True)
    assert [e.text for e, _ in waiting] == ["0", "1", "2", "3", "4", "1"]
    assert smsc.wait_for(lambda s: s.get("mos_acked") == 5)


def test_mo_messages_are_decoded_and_reassembled(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    store = Store()
    make_session(on_deliver=store)
    long_mo = "Tôi muốn hủy nhận tin nhắn của tỉnh, xin cảm ơn các anh chị rất nhiều nhé! " * 2
    assert smsc.send_mo("loa", "84912345678", "8088", "HUY") == 1
    assert smsc.send_mo("loa", "84912345679", "8088", long_mo) == 3
    assert smsc.send_mo("loa", "84912345670", "8088", long_mo, concat="sar") == 3
    assert wait_for(lambda: len(store.inbound) == 3)
    by_source = {m.source: m for m in store.inbound}
    assert by_source["84912345678"].text == "HUY"
    assert by_source["84912345679"].text == long_mo
    assert by_source["84912345679"].extra["parts"] == "3"
    assert by_source["84912345670"].text == long_mo
    assert by_source["84912345678"].destination == "8088"
    assert smsc.wait_for(lambda s: s.get("mos_acked") == 7)  # every part answered ok


def test_an_owner_that_stores_parts_gets_each_one_and_answers_it(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    store = Store(fail_first=1)  # the first part is refused once: delivered again
    make_session(on_deliver=store, mo_reassembly="owner")
    long_mo = "Tôi muốn hủy nhận tin nhắn của tỉnh, xin cảm ơn các anh chị rất nhiều nhé! " * 2
    assert smsc.send_mo("loa", "84912345679", "8088", long_mo) == 3
    assert wait_for(lambda: len(store.events) == 3)
    parts = sorted((e for e in store.events if isinstance(e, Fragment)), key=lambda f: f.number)
    assert [(f.number, f.total, f.source) for f in parts] == [(n, 3, "84912345679")
                                                               for n in (1, 2, 3)]
    assert len({f.ref for f in parts}) == 1
    assert b"".join(f.payload for f in parts).decode("utf-16-be") == long_mo
    assert smsc.wait_for(lambda s: s.get("mos_acked") == 3)


def test_memory_reassembly_refuses_parts_beyond_its_limit_for_now() -> None:
    answers: list[int] = []
    deliveries = Deliveries("t", on_deliver=lambda event: True, pending_limit=2)

    def first_part(ref: int) -> bytes:
        return pdu.ShortMessage(source_addr="84912345678", destination_addr="8088",
                                esm_class=pdu.ESM_CLASS_UDHI,
                                short_message=bytes((5, 0, 3, ref, 2, 1)) + b"abc").encode_body()

    for ref in (1, 2, 3):
        deliveries.handle(first_part(ref), answers.append)
    assert answers == [codes.ESME_ROK, codes.ESME_ROK, codes.ESME_RX_T_APPN]
    assert len(deliveries.reassembler) == 2


def test_rebind_after_the_link_drops_and_in_flight_is_unknowable(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=2.0)
    session = make_session()
    handle = session.submit(OutboundSms("lost", "84912345678", "Hi"))
    assert smsc.wait_for(lambda s: s.get("submits") == 1, 5)
    smsc.drop()
    outcome = handle.wait(5)
    assert outcome is not None and not outcome.ok
    assert isinstance(outcome.error, Unknowable) and outcome.parts[0].state == "unknown"
    assert outcome.reached_smsc  # the dispatch side must not resend it blindly
    smsc.set(resp_delay=0.0)
    assert wait_for(lambda: session.status().binds == 2 and session.state == "bound")
    again = session.submit_many([OutboundSms("next", "84912345678", "Hi")], timeout=5)
    assert again[0].ok
    assert smsc.stats()["binds"] == 2


def test_queued_messages_wait_for_the_rebind(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(reconnect_initial=0.3)
    smsc.drop()
    assert wait_for(lambda: session.state != "bound", 2)
    outcomes = session.submit_many(
        [OutboundSms(str(i), f"849{i:08d}", "Hi") for i in range(5)], timeout=5)
    assert all(o.ok for o in outcomes)  # never written before, so sent after the rebind


def test_permanent_refusal_is_final_and_later_parts_are_not_sent(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(reject={"84900000000": 0x0B})
    session = make_session()
    [outcome] = session.submit_many([OutboundSms("bad", "84900000000", GSM_LONG)], timeout=5)
    assert isinstance(outcome.error, Permanent) and outcome.error.code == "0x0B"
    assert [p.state for p in outcome.parts] == ["failed", "not_sent"]
    assert not outcome.reached_smsc
    assert len(smsc.received("84900000000")) == 1


def test_wrong_password_is_a_clear_state_with_bounded_retries(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(bind=False, password="wrong", auth_retry_delay=0.1,
                           auth_max_attempts=3)
    assert not session.wait_bound(3)
    status = session.status()
    assert status.state == "auth_failed"
    assert status.detail is not None and "ESME_RINVPASWD" in status.detail
    time.sleep(0.6)  # longer than the retries take
    assert smsc.stats()["bind_refused"] == 3
    assert session.state == "auth_failed"
    outcome = session.submit(OutboundSms("1", "84912345678", "Hi")).wait(1)
    assert outcome is not None and isinstance(outcome.error, AuthFailed)


def test_enquire_link_keeps_an_idle_bind_up(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(enquire_link_interval=0.2, response_timeout=0.5)
    assert smsc.wait_for(lambda s: s.get("enquire_links", 0) >= 4, 15), smsc.stats()
    assert session.state == "bound" and session.status().binds == 1


def test_close_drains_the_window_and_unbinds(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=0.2)
    session = make_session(window=5)
    handles = [session.submit(OutboundSms(str(i), f"849{i:08d}", "Hi")) for i in range(5)]
    session.close(timeout=3)
    assert all(h.done() and h.wait(0).ok for h in handles)  # type: ignore[union-attr]
    assert smsc.stats()["unbinds"] == 1
    assert session.state == "closed"


def test_link_lost_mid_message_keeps_what_is_known_part_by_part(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=0.2)
    session = make_session()
    handle = session.submit(OutboundSms("3parts", "84912345678", GSM_LONG * 2))
    assert smsc.wait_for(lambda s: s.get("submits") == 2, 5)  # part 1 answered, part 2 out
    smsc.drop()
    outcome = handle.wait(5)
    assert outcome is not None
    assert [p.state for p in outcome.parts] == ["accepted", "unknown", "not_sent"]
    assert outcome.parts[0].remote_id is not None
    assert isinstance(outcome.error, Unknowable)
    assert not isinstance(outcome.parts[2].error, Unknowable)  # never written


def test_close_resolves_messages_cut_short(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(resp_delay=0.3)
    session = make_session()
    handle = session.submit(OutboundSms("3parts", "84912345678", GSM_LONG * 2))
    assert smsc.wait_for(lambda s: s.get("submits") == 1, 5)
    session.close(timeout=0.1)  # part 1 still unanswered when the drain time runs out
    outcome = handle.wait(3)
    assert outcome is not None and outcome.parts[2].state == "not_sent"


def _one_held_by_the_throttle(session: Session) -> tuple[SubmitHandle, SubmitHandle]:
    """Two messages: the first answered, the second taken by the sender and held by the throttle
    (in no queue and not in flight)."""
    first = session.submit(OutboundSms("1", "84900000001", "Hi"))
    second = session.submit(OutboundSms("2", "84900000002", "Hi"))
    assert first.wait(3) is not None
    assert wait_for(lambda: session.status().queued == 0)
    return first, second


def test_close_drains_a_part_held_by_the_throttle(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(throttle=LocalThrottle(2, margin=0))  # 0.5 s between submits
    _, second = _one_held_by_the_throttle(session)
    session.close(timeout=3)
    outcome = second.wait(1)
    assert outcome is not None and outcome.ok  # sent within the drain, before the unbind
    assert smsc.stats()["submits"] == 2 and smsc.stats()["unbinds"] == 1


def test_close_resolves_a_part_the_throttle_holds_past_the_drain(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(throttle=LocalThrottle(0.5, margin=0))  # 2 s between submits
    _, second = _one_held_by_the_throttle(session)
    session.close(timeout=0.2)
    outcome = second.wait(3)
    # Resolved as not sent (the owner may send it again), never left queued in a closed session
    # nor written after the unbind.
    assert outcome is not None and [p.state for p in outcome.parts] == ["not_sent"]
    assert outcome.error is not None and outcome.error.code == "closed"
    assert smsc.stats()["submits"] == 1


def test_answers_together_go_at_the_end_of_the_block_in_one_write_per_bind(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    waiting: list[tuple[DeliverEvent, Ack]] = []
    make_session(on_deliver_later=lambda event, ack: waiting.append((event, ack)))
    for i in range(4):
        smsc.send_mo("loa", f"8491234567{i}", "8088", f"{i}")
    assert wait_for(lambda: len(waiting) == 4)
    with answers_together():
        for _, ack in waiting[:3]:
            ack(True)
        time.sleep(0.2)
        assert smsc.stats().get("mos_acked", 0) == 0  # held until the block ends
    assert smsc.wait_for(lambda s: s.get("mos_acked") == 3, 5)
    waiting[3][1](True)  # outside a block: at once, as before
    assert smsc.wait_for(lambda s: s.get("mos_acked") == 4, 5)


def test_held_answers_are_written_per_bind_and_link_in_their_order() -> None:
    writes: list[tuple[str, bytes, int]] = []
    first, second = object(), object()

    def writer(name: str) -> Callable[[bytes, int], bool]:
        return lambda data, generation: writes.append((name, data, generation)) is None

    assert not hold_answer(first, 1, b"a", writer("first"))  # outside a block: not held
    with answers_together():
        assert hold_answer(first, 1, b"a", writer("first"))
        assert hold_answer(second, 1, b"x", writer("second"))
        with answers_together():  # nested: the outer block writes
            assert hold_answer(first, 1, b"b", writer("first"))
        assert hold_answer(first, 2, b"c", writer("first"))  # a new link: apart
        assert writes == []
    assert writes == [("first", b"ab", 1), ("second", b"x", 1), ("first", b"c", 2)]
