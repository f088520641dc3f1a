"""Against an SMPP implementation not written here: smpp34 (PyPI, a Rust core).

Our session binds to smpp34's server, and smpp34's client binds to our stand-in, so neither of
our two ends is judged only by the other.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from gateways.errors import Permanent
from gateways.smpp import OutboundSms, Session
from gateways.sms.encoding import encode_ucs2
from scripts.harness import wait_for
from scripts.smsc import Smsc
from tests.helpers.smpp import VI_LONG, Store, fast_config

smpp34 = pytest.importorskip("smpp34")
T = TypeVar("T")


class Smpp34Server:
    """smpp34.Server on a loop thread: accepts submits with ids, keeps what it got."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.submits: list[Any] = []
        self.esmes: list[Any] = []
        self.reject: dict[str, int] = {}
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.serving = asyncio.run_coroutine_threadsafe(self._serve(), self.loop)
        assert self.ready.wait(5)

    async def _serve(self) -> None:
        self.server = smpp34.Server("127.0.0.1", self.port, system_id="smpp34")
        await self.server.start()
        self.ready.set()
        while True:
            event = await self.server.next()
            if isinstance(event, smpp34.SubmitSmEvent):
                self.submits.append(event)
                code = self.reject.get(event.destination_addr)
                if code:
                    event.reject(code)
                else:
                    event.accept(f"S34-{len(self.submits)}")
            elif isinstance(event, smpp34.Esme):
                self.esmes.append(event)

    def run(self, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await `start()` on the server's loop (smpp34 needs its loop running when called)."""
        async def call() -> T:
            return await start()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(5)

    def stop(self) -> None:
        self.run(self.server.stop)
        self.serving.cancel()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture()
def other_smsc() -> Iterator[Smpp34Server]:
    server = Smpp34Server()
    yield server
    server.stop()


def test_session_against_smpp34_server(other_smsc: Smpp34Server) -> None:
    store = Store()
    session = Session(fast_config(other_smsc.port, enquire_link_interval=0.2),
                      on_deliver=store).start()
    try:
        assert session.wait_bound(5), session.status()
        outcomes = [session.submit_many([message], timeout=5)[0] for message in (
            OutboundSms("vi", "84912345678", VI_LONG), OutboundSms("gsm", "84912345679", "Hello"))]
        assert [o.remote_ids for o in outcomes] == [("S34-1", "S34-2", "S34-3"), ("S34-4",)]
        submits = other_smsc.submits
        assert [(s.esm_class, s.data_coding, s.short_message[:6].hex()) for s in submits[:3]] \
            == [(0x40, 8, f"050003{s.short_message[3]:02x}03{n:02x}") for n, s in
                enumerate(submits[:3], start=1)]
        assert b"".join(s.short_message[6:] for s in submits[:3]) == encode_ucs2(VI_LONG)
        assert (submits[3].source_addr, submits[3].source_addr_ton) == ("LOA", 5)
        assert submits[3].registered_delivery == 1

        esme = other_smsc.esmes[0]
        receipt = other_smsc.run(lambda: esme.deliver_sm(
            "LOA", b"id:S34-4 sub:001 dlvrd:001 stat:DELIVRD err:000", source_addr="84912345679",
            esm_class=0x04, tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, b"S34-4\x00")]))
        assert receipt.command_status == 0
        assert [(r.remote_id, r.state) for r in store.receipts] == [("S34-4", "DELIVRD")]

        text = "Đăng ký nhận tin: " + "ĐK " * 40  # two UCS-2 parts with a UDH, as a phone sends
        data = encode_ucs2(text)
        for number, chunk in enumerate((data[:134], data[134:]), start=1):
            message = bytes((5, 0, 3, 0x42, 2, number)) + chunk

            def part(message: bytes = message) -> Any:
                return esme.deliver_sm("8088", message, source_addr="84987654321",
                                       esm_class=0x40, data_coding=8)

            assert other_smsc.run(part).command_status == 0
        assert [m.text for m in store.inbound] == [text]

        store.fail_first = store.calls + 1  # the next store fails: answer ESME_RX_T_APPN
        refused = other_smsc.run(lambda: esme.deliver_sm(
            "LOA", b"id:S34-1 stat:UNDELIV err:001", source_addr="84912345678", esm_class=4))
        assert refused.command_status == 0x64

        other_smsc.reject["84900000000"] = smpp34.ESME_RINVDSTADR
        [bad] = session.submit_many([OutboundSms("bad", "84900000000", "Hi")], timeout=5)
        assert isinstance(bad.error, Permanent) and bad.error.code == "0x0B"

        assert wait_for(lambda: session.status().binds == 1 and session.state == "bound", 0.6)
    finally:
        session.close(timeout=1)


def test_smpp34_client_against_the_stand_in(smsc: Smsc) -> None:
    async def scenario() -> tuple[Any, Any]:
        client = smpp34.Client("127.0.0.1", smsc.port, "loa", "secret", bind_type="TRX")
        bound = await client.connect()
        resp = await bound.submit_sm("84912345678", "Xin chào".encode("utf-16-be"),
                                     source_addr="LOA", source_addr_ton=5, data_coding=8,
                                     registered_delivery=1)
        event = await asyncio.wait_for(bound.next(), 5)
        await bound.unbind()
        return resp, event

    smsc.set(id_format="dec")
    resp, receipt = asyncio.run(scenario())
    assert resp.is_success and resp.message_id == "1"
    assert receipt.esm_class == 0x04 and b"id:1 " in receipt.short_message
    assert smsc.received("84912345678")[0].text == "Xin chào"
    assert smsc.stats()["receipts_acked"] == 1

    async def wrong_password() -> None:
        await smpp34.Client("127.0.0.1", smsc.port, "loa", "nope",
                            connect_timeout_ms=500).connect()

    # smpp34's client reports any refused bind as "bind timed out" (checked against a raw
    # server answering 0x0E with no body, a NUL body, or generic_nack): it cannot tell us more.
    with pytest.raises(smpp34.SmppError):
        asyncio.run(wrong_password())
    assert smsc.stats()["bind_refused"] == 1
