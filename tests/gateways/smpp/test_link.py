"""Link-level manners against a scripted raw SMSC: what the session answers and when it gives up."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from gateways.errors import Unknowable
from gateways.smpp import OutboundSms, Session, pdu
from scripts.harness import wait_for
from tests.helpers.smpp import fast_config


class RawSmsc:
    """Accepts binds and records every PDU; answers nothing else unless told to."""

    def __init__(self, *, answer_enquire: bool = True, answer_submit: bool = True) -> None:
        self.answer_enquire = answer_enquire
        self.answer_submit = answer_submit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.got: list[pdu.Pdu] = []
        self.conns: list[socket.socket] = []
        self.binds = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        stream = pdu.PduStream()
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            for item in stream.feed(data):
                self.got.append(item)
                reply = None
                if item.command_id == pdu.BIND_TRANSCEIVER:
                    self.binds += 1
                    reply = pdu.encode(item.command_id | pdu.RESP, 0, item.sequence,
                                       pdu.bind_resp_body("raw"))
                elif item.command_id == pdu.ENQUIRE_LINK and self.answer_enquire:
                    reply = pdu.encode(pdu.ENQUIRE_LINK | pdu.RESP, 0, item.sequence)
                elif item.command_id == pdu.SUBMIT_SM and self.answer_submit:
                    reply = pdu.encode(pdu.SUBMIT_SM | pdu.RESP, 0, item.sequence, b"1\x00")
                elif item.command_id == pdu.UNBIND:
                    reply = pdu.encode(pdu.UNBIND | pdu.RESP, 0, item.sequence)
                if reply:
                    conn.sendall(reply)

    def send(self, data: bytes) -> None:
        self.conns[-1].sendall(data)

    def replies(self, command_id: int) -> list[pdu.Pdu]:
        return [p for p in self.got if p.command_id == command_id]

    def close(self) -> None:
        self.listener.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture()
def raw() -> Iterator[RawSmsc]:
    server = RawSmsc()
    yield server
    server.close()


def start(port: int, **changes: object) -> Session:
    session = Session(fast_config(port, **changes)).start()
    assert session.wait_bound(5)
    return session


def test_answers_the_smscs_requests_and_rebinds_after_its_unbind(raw: RawSmsc) -> None:
    session = start(raw.port)
    try:
        raw.send(pdu.encode(pdu.ENQUIRE_LINK, 0, 900))
        raw.send(pdu.encode(pdu.DATA_SM, 0, 901, b"\x00" * 20))
        assert wait_for(lambda: len(raw.replies(pdu.GENERIC_NACK)) == 1)
        [enquire_resp] = raw.replies(pdu.ENQUIRE_LINK | pdu.RESP)
        assert enquire_resp.sequence == 900
        nack = raw.replies(pdu.GENERIC_NACK)[0]
        assert (nack.sequence, nack.status) == (901, 0x03)  # ESME_RINVCMDID
        raw.send(pdu.encode(pdu.UNBIND, 0, 902))
        assert wait_for(lambda: raw.binds == 2 and session.state == "bound")
        assert [p.sequence for p in raw.replies(pdu.UNBIND | pdu.RESP)] == [902]
    finally:
        session.close(timeout=1)


def test_unanswered_enquire_link_drops_and_rebinds(raw: RawSmsc) -> None:
    raw.answer_enquire = False
    session = start(raw.port, enquire_link_interval=0.1, response_timeout=0.3)
    try:
        assert wait_for(lambda: raw.binds >= 2 and session.status().binds >= 2, 3)
    finally:
        session.close(timeout=1)


def test_submit_without_answer_becomes_unknowable_and_frees_the_window(raw: RawSmsc) -> None:
    raw.answer_submit = False
    session = start(raw.port, response_timeout=0.3, window=1)
    try:
        first = session.submit(OutboundSms("1", "84912345678", "Hi")).wait(3)
        assert first is not None and isinstance(first.error, Unknowable)
        assert first.error.code == "timeout"
        raw.answer_submit = True
        second = session.submit(OutboundSms("2", "84912345678", "Hi")).wait(3)
        assert second is not None and second.ok  # the slot was given back
        sequences = [p.sequence for p in raw.replies(pdu.SUBMIT_SM)]
        assert len(set(sequences)) == 2
    finally:
        session.close(timeout=1)
