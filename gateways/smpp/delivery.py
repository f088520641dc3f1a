"""deliver_sm handling: parse, hand to the owner, answer the SMSC only once stored.

Receipts and MO messages reach the owner through `on_deliver(event) -> bool` (called on the
session's reader thread: True once stored, then deliver_sm_resp ESME_ROK; False or an exception
answers ESME_RX_T_APPN so the SMSC delivers it again), or through `on_deliver_later(event, ack)`
to store in batches: call `ack(True|False)` from any thread when done. Without either, every
deliver_sm is refused with ESME_RX_T_APPN: nothing is acknowledged that was not stored.

A redelivered receipt or MO reaches the owner again (the SMSC did not get our answer): storing
must be idempotent. Parts of a concatenated MO either go to the owner one by one as `Fragment`
events (`reassembly="owner"`: each answered once stored, so none lives only in memory), or are
joined by the `Reassembler` (`"memory"`: each part is answered as it comes, the last one once
the whole message is stored; beyond its limit of unfinished messages a new one's part is
refused with ESME_RX_T_APPN, to come again later).

An owner that acknowledges a batch at once does it inside `answers_together()`: the answers its
thread gives in the block go at its end, one write per bind (in their order) rather than a
write, a system call and a wake-up of the SMSC, per deliver_sm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, tzinfo

from gateways.results import Fragment, Inbound, Receipt
from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.inbound import (
    Full,
    Reassembler,
    make_fragment,
    make_inbound,
    mo_segment,
    parse_receipt,
)
from gateways.smpp.message import IdFormat

log = logging.getLogger(__name__)

DeliverEvent = Receipt | Inbound | Fragment
Ack = Callable[[bool], None]
Answer = Callable[[int], None]  # writes deliver_sm_resp with this command_status

ESME_RX_P_APPN = 0x65

Write = Callable[[bytes, int], object]  # a bind's write of PDUs on one link (its generation)


class _Held(threading.local):
    # (bind, link) -> its write, the link, the answers held for it; None: outside the block
    answers: dict[tuple[int, int], tuple[Write, int, list[bytes]]] | None = None


_held = _Held()


@contextmanager
def answers_together() -> Iterator[None]:
    """Hold this thread's deliver_sm answers until the block ends, then write each bind's in
    one write (see the module docstring)."""
    if _held.answers is not None:  # nested: the outer block writes them
        yield
        return
    answers: dict[tuple[int, int], tuple[Write, int, list[bytes]]] = {}
    _held.answers = answers
    try:
        yield
    finally:
        _held.answers = None
        for write, generation, pdus in answers.values():
            write(b"".join(pdus), generation)


def hold_answer(bind: object, generation: int, data: bytes, write: Write) -> bool:
    """Keep an answer for the end of this thread's `answers_together` block; False (not kept:
    write it now) outside one."""
    answers = _held.answers
    if answers is None:
        return False
    key = (id(bind), generation)
    held = answers.get(key)
    if held is None:
        answers[key] = (write, generation, [data])
    else:
        held[2].append(data)
    return True


class Deliveries:
    """Turns deliver_sm bodies into Receipt / Inbound values and answers each one."""

    def __init__(self, name: str, *, on_deliver: Callable[[DeliverEvent], bool] | None = None,
                 on_deliver_later: Callable[[DeliverEvent, Ack], None] | None = None,
                 receipt_ids: IdFormat = "raw", receipt_timezone: tzinfo = UTC,
                 reassembly: str = "memory", reassembly_timeout: float = 300.0,
                 pending_limit: int = 10_000,
                 on_stored: Callable[[DeliverEvent], None] | None = None) -> None:
        self.name = name
        self._on_deliver = on_deliver
        self._on_deliver_later = on_deliver_later
        self._receipt_ids = receipt_ids
        self._tz = receipt_timezone
        self._on_stored = on_stored
        self._owner_reassembles = reassembly == "owner"
        self.reassembler = Reassembler(reassembly_timeout, pending_limit)

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
            elif self._owner_reassembles:
                event = make_fragment(message, segment, payload)
            else:
                try:
                    whole = self.reassembler.add(message, segment, payload)
                except Full as exc:
                    log.warning("smpp %s: MO part refused for now: %s", self.name, exc)
                    answer(codes.ESME_RX_T_APPN)
                    return
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
