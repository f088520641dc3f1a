"""The stand-in's control interface (HTTP) and its periodic drops, as drills and other processes
use them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.smpp import OutboundSms, Session, pdu
from scripts.harness import wait_for
from scripts.smsc import Behaviour, Smsc
from scripts.smsc.control import serve
from tests.helpers.smpp import Store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def control(smsc: Smsc) -> Iterator[Callable[..., Any]]:
    server = serve(smsc, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def call(path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data)) as response:
            return json.load(response)

    yield call
    server.shutdown()


def test_control_interface_drives_the_stand_in(
        smsc: Smsc, make_session: Callable[..., Session], control: Callable[..., Any]) -> None:
    store = Store()
    session = make_session(on_deliver=store)
    assert control("/behaviour", {"id_format": "dec"})["id_format"] == "dec"
    [outcome] = session.submit_many([OutboundSms("1", "84912345678", "Chào bạn")], timeout=5)
    assert outcome.remote_ids == ("1",)
    [record] = control("/received?destination=84912345678")
    assert (record["text"], record["data_coding"], record["message_id"]) == ("Chào bạn", 8, "1")
    assert sum(control("/per-second?account=loa").values()) == 1
    assert control("/mo", {"account": "loa", "source": "84912345678", "destination": "8088",
                           "text": "STOP"}) == {"parts": 1}
    assert wait_for(lambda: [m.text for m in store.inbound] == ["STOP"])
    assert control("/drop", {}) == {"dropped": 1}
    assert wait_for(lambda: session.status().binds == 2 and session.state == "bound")
    stats = control("/stats")
    assert stats["binds"] == 2 and stats["accepted"] == 1 and stats["drops"] == 1
    control("/reset", {})
    assert control("/stats").get("accepted") is None


def test_periodic_drops_and_the_session_follows(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session()
    smsc.set(drop_every=0.3)
    assert wait_for(lambda: session.status().binds >= 3, 5)
    smsc.set(drop_every=None)
    assert wait_for(lambda: session.state == "bound")
    assert session.submit_many([OutboundSms("1", "84912345678", "Hi")], timeout=5)[0].ok


def test_runs_as_a_module_from_the_repository_root() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "scripts.smsc", "--port", "0",
                             "--control-port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("SMSC stand-in on 127.0.0.1:") and "loa" in line
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_repeats_are_counted_with_recording_off(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    # Benchmarks run the stand-in with --no-record and still need duplicate sends counted.
    smsc.set(record=False)
    session = make_session()
    first = [OutboundSms(str(i), f"8491234567{i}", "Hi") for i in range(3)]
    assert all(o.ok for o in session.submit_many(first, timeout=5))
    assert smsc.stats().get("repeats") is None  # three destinations, once each
    again = [OutboundSms("3", "84912345671", "Hi"),  # the same message to the same number
             OutboundSms("4", "84912345671", "Hello")]  # another text to that number
    assert all(o.ok for o in session.submit_many(again, timeout=5))
    assert smsc.stats()["repeats"] == 1
    assert smsc.received() == []
    smsc.reset()
    assert session.submit_many(first[:1], timeout=5)[0].ok
    assert smsc.stats().get("repeats") is None


def test_a_share_of_submits_is_throttled_at_random_and_the_session_resends_them(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    # The throttle drill: 0x58 to a fifth of the submits, whatever the rate.
    smsc.set(throttle_ratio=0.2)
    session = make_session()
    messages = [OutboundSms(str(i), f"849100{i:05d}", "Hi") for i in range(200)]
    outcomes = session.submit_many(messages, timeout=60)
    assert all(o.ok for o in outcomes)
    stats = smsc.stats()
    assert stats["accepted"] == 200 and stats.get("repeats") is None
    assert 15 <= stats["refused_0x58"] <= 120  # about 50 expected (200 / 0.8 - 200)


def test_duplicated_and_stray_receipts(smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(duplicate_receipts=1.0, stray_receipts=1.0)
    store = Store()
    session = make_session(on_deliver=store)
    [outcome] = session.submit_many([OutboundSms("1", "84912345678", "Hi")],
                                    timeout=5)
    # The real receipt and one for an id the stand-in never answered with, each twice.
    assert wait_for(lambda: len(store.receipts) == 4)
    ids = [r.remote_id for r in store.receipts]
    [stray] = set(ids) - {outcome.remote_ids[0]}
    assert ids.count(outcome.remote_ids[0]) == ids.count(stray) == 2
    stats = smsc.stats()
    assert stats["duplicate_receipts"] == 2 and stats["stray_receipts"] == 1


def test_mo_burst_through_the_control_port(
        smsc: Smsc, make_session: Callable[..., Session], control: Callable[..., Any]) -> None:
    store = Store()
    make_session(on_deliver=store)
    burst = [[f"8497{i:07d}", "8088", "HUY" if i % 3 == 0 else f"hello {i}"] for i in range(300)]
    assert control("/mo", {"account": "loa", "messages": burst}) == {"parts": 300}
    assert wait_for(lambda: len(store.inbound) == 300, 10)
    assert sum(m.text == "HUY" for m in store.inbound) == 100


class RawBind:
    """A bind over a plain socket, so a test decides when each submit_sm leaves (Loa's session
    paces by itself)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stream = pdu.PduStream()
        self.answers: list[pdu.Pdu] = []
        self.seq = 0
        self.send(pdu.BIND_TRANSMITTER, pdu.Bind("loa", "secret").encode_body())
        assert self.answer().status == 0

    def send(self, command: int, body: bytes) -> float:
        self.seq += 1
        self.sock.sendall(pdu.encode(command, 0, self.seq, body))
        return time.time()

    def submit(self, number: str) -> float:
        return self.send(pdu.SUBMIT_SM, pdu.ShortMessage(
            source_addr="LOA", destination_addr=number, short_message=b"Hi").encode_body())

    def answer(self) -> pdu.Pdu:
        while not self.answers:
            self.answers += self.stream.feed(self.sock.recv(4096))
        return self.answers.pop(0)

    def close(self) -> None:
        self.sock.close()


def hold_loop(smsc: Smsc) -> threading.Event:
    """Keep the stand-in's loop busy (a busy SMSC process) until the event is set."""
    held, release = threading.Event(), threading.Event()

    def busy() -> None:
        held.set()
        release.wait(10)

    threading.Thread(target=lambda: smsc.call(busy), daemon=True).start()
    assert held.wait(5)
    return release


@pytest.mark.parametrize("arrival", ["kernel", "read"])
def test_interval_policing_stamps_arrivals_by_the_kernel_not_by_its_late_read(
        arrival: str) -> None:
    # 4 TPS policed by interval (0.25 s). The first submit arrives while the stand-in's loop
    # is busy and is read 0.2 s late; the second leaves 0.26 s after the first, once the first
    # was read. Stamped at arrival (the kernel's receive time), the two are 0.26 s apart and
    # both accepted; stamped when read, they look 0.06 s apart and the second is refused.
    with Smsc({"loa": "secret"}, Behaviour(tps=4, policing="interval", receipts=False,
                                           arrival=arrival)) as smsc:
        bind = RawBind(smsc.port)
        try:
            release = hold_loop(smsc)
            first = bind.submit("84900000001")
            time.sleep(0.2)
            release.set()
            assert bind.answer().status == 0
            time.sleep(max(0.0, first + 0.26 - time.time()))
            bind.submit("84900000002")
            second = bind.answer().status
        finally:
            bind.close()
        records = smsc.received()
        stats = smsc.stats()
    assert [r.destination for r in records] == ["84900000001", "84900000002"]
    late = records[0].read_at - records[0].at
    if arrival == "kernel":
        assert second == 0
        assert late >= 0.19  # the record keeps both: arrival and the late read
        assert records[1].at - records[0].at >= 0.25
        assert stats["stamped_kernel"] == 2 and stats.get("stamps_shared") is None
    else:
        assert second == 0x58
        assert late == 0 and stats.get("stamped_kernel") is None


def test_submits_merged_unread_by_the_kernel_share_a_stamp_and_are_counted() -> None:
    # What kernel stamps cannot undo: a loop so late that the next submit came before it read
    # the first. TCP merges the unread segments under the later one's stamp, so the two look
    # simultaneous; the stand-in counts such pairs, and polices by the stamp it has.
    with Smsc({"loa": "secret"}, Behaviour(tps=4, policing="interval",
                                           receipts=False)) as smsc:
        bind = RawBind(smsc.port)
        try:
            release = hold_loop(smsc)
            bind.submit("84900000001")
            time.sleep(0.3)
            bind.submit("84900000002")
            time.sleep(0.05)
            release.set()
            codes = sorted(bind.answer().status for _ in range(2))
        finally:
            bind.close()
        stats = smsc.stats()
    assert codes == [0, 0x58]
    assert stats["stamps_shared"] == 1 and stats["stamped_kernel"] == 2


def test_unpoliced_accounts_are_read_in_bulk_with_the_kernel_stamp(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    session = make_session(window=50)
    messages = [OutboundSms(str(i), f"849200{i:05d}", "Hi") for i in range(300)]
    assert all(o.ok for o in session.submit_many(messages, timeout=30))
    records = smsc.received()
    stats = smsc.stats()
    assert stats["accepted"] == 300 and stats["stamped_kernel"] == 300
    assert all(r.read_at is not None and r.at <= r.read_at for r in records)
    # Read in bulk: submits written back to back are often read together, one stamp for all.
    assert stats.get("stamps_shared", 0) > 0
