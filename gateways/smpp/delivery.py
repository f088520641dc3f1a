"""deliver_sm handling: parse, hand to the owner, answer the SMSC only once stored.

Receipts and MO messages reach the owner through `on_deliver(event) -> bool` (called on the
session's reader thread: True once stored, then deliver_sm_resp ESME_ROK; False or an exception
answers ESME_RX_T_APPN so the SMSC delivers it again), or through `on_deliver_later(event, ack)`
to store in batches: call `ack(True|False)` from any thread when done. Without either, every
deliver_sm is refused with ESME_RX_T_APPN: nothing is acknowledged that was not stored.

A redelivered receipt or MO reaches the owner again (the SMSC did not get our answer): storing
must be idempotent. MO fragments are acknowledged as they come and kept by the `Reassembler`;
the last part is answered once the whole message is stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, tzinfo

from gateways.results import Inbound, Receipt
from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.inbound import Reassembler, make_inbound, mo_segment, parse_receipt
from gateways.smpp.message import IdFormat

log = logging.getLogger(__name__)

DeliverEvent = Receipt | Inbound
Ack = Callable[[bool], None]
Answer = Callable[[int], None]  # writes deliver_sm_resp with this command_status

ESME_RX_P_APPN = 0x65


class Deliveries:
    """Turns deliver_sm bodies into Receipt / Inbound values and answers each one."""

    def __init__(self, name: str, *, on_deliver: Callable[[DeliverEvent], bool] | None = None,
                 on_deliver_later: Callable[[DeliverEvent, Ack], None] | None = None,
                 receipt_ids: IdFormat = "raw", receipt_timezone: tzinfo = UTC,
                 reassembly_timeout: float = 300.0,
                 on_stored: Callable[[DeliverEvent], None] | None = None) -> None:
        self.name = name
        self._on_deliver = on_deliver
        self._on_deliver_later = on_deliver_later
        self._receipt_ids = receipt_ids
        self._tz = receipt_timezone
        self._on_stored = on_stored
        self.reassembler = Reassembler(reassembly_timeout)

    def handle(self, body: bytes, answer: Answer) -> None:
        """One deliver_sm body; `answer` is called exactly once (maybe later, maybe elsewhere)."""
        try:
            message = pdu.ShortMessage.decode_body(body)
        except pdu.PduError as exc:
            log.error("smpp %s: unreadable deliver_sm (%s): %s", self.name, exc, body.hex())
            answer(ESME_RX_P_APPN)  # redelivering the same bytes cannot help
            return
        done: Callable[[], None] | None = None
        event: DeliverEvent
        if message.is_receipt:
            event = parse_receipt(message, id_format=self._receipt_ids, tz=self._tz)
        else:
            segment, payload = mo_segment(message)
            if segment is None or segment.total <= 1:
                event = make_inbound(message, payload)
            else:
                whole = self.reassembler.add(message, segment, payload)
                if whole is None:
                    answer(codes.ESME_ROK)  # a fragment: kept until the message is whole
                    return
                key = self.reassembler.key(message, segment)
                event = make_inbound(message, whole, parts=segment.total)

                def done() -> None:
                    self.reassembler.done(key)
        self.hand_over(event, answer, done)

    def hand_over(self, event: DeliverEvent, answer: Answer,
                  done: Callable[[], None] | None = None) -> None:
        answered = threading.Lock()

        def ack(ok: bool) -> None:
            if not answered.acquire(blocking=False):
                return  # answered already
            if ok:
                if self._on_stored is not None:
                    self._on_stored(event)
                if done is not None:
                    done()
            answer(codes.ESME_ROK if ok else codes.ESME_RX_T_APPN)

        try:
            if self._on_deliver_later is not None:
                self._on_deliver_later(event, ack)
            elif self._on_deliver is not None:
                ack(bool(self._on_deliver(event)))
            else:
                ack(False)
        except Exception:
            log.exception("smpp %s: storing a deliver_sm failed", self.name)
            ack(False)

    def sweep(self) -> None:
        """Hand over MO messages whose missing parts never came (marked incomplete)."""
        for key, event in self.reassembler.expired():
            def drop(key: tuple[str, str, int, int] = key) -> None:
                self.reassembler.done(key)

            self.hand_over(event, lambda code: None, drop)
