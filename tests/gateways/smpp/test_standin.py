"""The stand-in's control interface (HTTP) and its periodic drops, as drills and other processes
use them."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.smpp import OutboundSms, Session
from scripts.harness import wait_for
from scripts.smsc import Smsc
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
