"""The reading side of a session: every PDU the SMSC sends, answered or handed over.

Receipts and MO messages go to the owner through `Deliveries` (delivery.py), which answers the
deliver_sm once the owner stored the event; responses settle the window (window.py).
"""

from __future__ import annotations

import logging
import socket
import threading

from gateways.results import Fragment, Receipt
from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.delivery import DeliverEvent, hold_answer
from gateways.smpp.window import Window

log = logging.getLogger(__name__)

READ_SIZE = 65536  # octets a read may take: every PDU a window of 50 can answer, and more


class Reader(Window):
    """The one reader of the socket (run by the link thread while bound)."""

    _unbound: threading.Event
    _enquire_waiting: bool

    def _read_loop(self, sock: socket.socket, generation: int, stream: pdu.PduStream,
                   early: list[pdu.Pdu]) -> str:
        for item in early:
            ended = self._dispatch(item, generation)
            if ended:
                return ended
        # One buffer for every read of the link: a fresh 64 KiB object per recv, mostly
        # holding one PDU of a few dozen octets, cost more than cutting the PDUs out of it.
        buffer = bytearray(READ_SIZE)
        view = memoryview(buffer)
        while True:
            try:
                size = sock.recv_into(buffer)
            except BlockingIOError:  # the socket's timeout (SO_RCVTIMEO): nothing came
                if self._stop.is_set() and not self._pending:
                    return "closed"
                continue
            except OSError as exc:
                return f"read failed: {exc}"
            if not size:
                return "closed by the SMSC" if not self._stop.is_set() else "closed"
            try:
                pdus = stream.feed(view[:size])
            except pdu.PduError as exc:
                return f"protocol error: {exc}"
            for item in pdus:
                ended = self._dispatch(item, generation)
                if ended:
                    return ended

    def _dispatch(self, item: pdu.Pdu, generation: int) -> str | None:
        command = item.command_id
        if command == pdu.SUBMIT_SM | pdu.RESP:
            self._on_submit_resp(item.sequence, item.status, item.body)
        elif command == pdu.DELIVER_SM:
            self._on_deliver_sm(item, generation)
        elif command == pdu.ENQUIRE_LINK:
            self._write(pdu.encode(pdu.ENQUIRE_LINK | pdu.RESP, 0, item.sequence), generation)
        elif command == pdu.ENQUIRE_LINK | pdu.RESP:
            self._enquire_waiting = False
        elif command == pdu.UNBIND:
            self._write(pdu.encode(pdu.UNBIND | pdu.RESP, 0, item.sequence), generation)
            return "unbound by the SMSC"
        elif command == pdu.UNBIND | pdu.RESP:
            self._unbound.set()
            return "unbound"
        elif command == pdu.GENERIC_NACK:
            if item.sequence in self._pending:
                self._on_submit_resp(item.sequence, item.status or codes.ESME_RSYSERR, b"")
            else:
                self._enquire_waiting = False
                log.warning("smpp %s: generic_nack %s for seq %d", self.name,
                            codes.name(item.status), item.sequence)
        elif not command & pdu.RESP and command != pdu.ALERT_NOTIFICATION:
            self._write(pdu.encode(pdu.GENERIC_NACK, codes.ESME_RINVCMDID, item.sequence),
                        generation)
        return None

    def _on_deliver_sm(self, item: pdu.Pdu, generation: int) -> None:
        sequence = item.sequence

        def answer(code: int) -> None:
            data = pdu.encode(pdu.DELIVER_SM | pdu.RESP, code, sequence, b"\x00")
            if not hold_answer(self, generation, data, self._write):
                self._write(data, generation)

        self._deliveries.handle(item.body, answer)

    def _count_stored(self, event: DeliverEvent) -> None:
        if isinstance(event, Fragment):
            return  # a part: the owner counts the message it makes
        with self._cv:
            self._counts["receipts" if isinstance(event, Receipt) else "inbound"] += 1
