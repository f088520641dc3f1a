"""The window of a session: parts queued, written (at most `window` unanswered) and answered.

The sender thread takes parts in order, asks the throttle and writes; `_on_submit_resp` settles
a part (accepted, resent after 0x58/0x14 or a retryable refusal, failed); `_sweep` times out
unanswered submits and messages that waited too long for a bind; `_link_down` makes what was in
flight unknowable. Handles are resolved outside `_cv` (`_finish`), since callbacks run there.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque

from gateways.errors import GatewayError, Retryable, Unknowable
from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.connection import Connection
from gateways.smpp.delivery import Deliveries
from gateways.smpp.message import OutboundSms, PreparedPart, normalise_id
from gateways.smpp.metrics import RateMeter, RoundTrip
from gateways.smpp.outcome import PartOutcome, PartState, SubmitHandle, SubmitOutcome
from gateways.smpp.throttle import Throttle

log = logging.getLogger(__name__)


class Message:
    """An OutboundSms on its way through the window: its parts and what became of each."""

    __slots__ = ("attempts", "encoding", "first_sent", "handle", "next_at", "parts", "queued_at",
                 "results", "sms")

    def __init__(self, sms: OutboundSms, encoding: str, parts: tuple[PreparedPart, ...]) -> None:
        self.sms = sms
        self.encoding = encoding
        self.parts = parts
        self.results: list[PartOutcome | None] = [None] * len(parts)
        self.attempts = [0] * len(parts)
        self.first_sent = [0.0] * len(parts)
        self.next_at = 0.0  # monotonic time before which the next part must not be written
        self.queued_at = time.monotonic()
        self.handle = SubmitHandle(sms.ref)


class Window(Connection):
    """Parts in flight and their outcomes (see the module docstring)."""

    _throttle: Throttle | None
    _incoming: deque[Message]  # not started
    _ready: deque[tuple[Message, int]]  # next parts and resends
    _slots: int  # window places taken: picked by the sender or in flight
    _down_at: float | None  # since when no bind (None: bound)
    _counts: dict[str, int]
    _meter: RateMeter
    _accepted_meter: RateMeter
    _refused_meter: RateMeter
    _round_trip: RoundTrip
    _deliveries: Deliveries

    def _fail_rest(self, item: Message, index: int, error: GatewayError,
                   state: PartState) -> list[Message]:
        """Part `index` ends with `error`; later parts are not sent. Returns [item] if done."""
        item.results[index] = PartOutcome(index + 1, state, None, error, item.attempts[index])
        # Later parts were never written: after an unknowable part they are merely not sent.
        kind = Retryable if isinstance(error, Unknowable) else type(error)
        for later in range(index + 1, len(item.parts)):
            item.results[later] = PartOutcome(
                later + 1, "not_sent", None,
                kind(f"not sent: part {index + 1} {state}", code=error.code), 0)
        return [item]

    def _take_unstarted(self, error: GatewayError) -> list[Message]:
        """Fail every message that has not had a part written yet; caller holds `_cv`."""
        done = []
        while self._incoming:
            done += self._fail_rest(self._incoming.popleft(), 0, error, "not_sent")
        return done

    def _take_ready(self, error: GatewayError) -> list[Message]:
        """Fail the parts waiting to be written (earlier parts were); caller holds `_cv`."""
        done = []
        while self._ready:
            item, index = self._ready.popleft()
            done += self._fail_rest(item, index, error, "not_sent")
        return done

    def _finish(self, messages: list[Message]) -> None:
        """Resolve the handles of finished messages (outside `_cv`: callbacks run here)."""
        for item in messages:
            results = tuple(r for r in item.results if r is not None)
            item.handle._resolve(SubmitOutcome(item.sms.ref, item.encoding, results))

    def _on_submit_resp(self, sequence: int, code: int, body: bytes) -> None:
        done: list[Message] = []
        penalise = False
        crowded = code != 0x14  # ESME_RMSGQFUL says the window is full, not that we crowd
        now = time.monotonic()
        with self._cv:
            entry = self._pending.pop(sequence, None)
            if entry is None:
                log.warning("smpp %s: submit_sm_resp for unknown seq %d (%s)", self.name,
                            sequence, codes.name(code))
                return
            self._slots -= 1
            item, index, sent_at = entry
            self._round_trip.add(now - sent_at)
            row = codes.lookup(code, self.config.status_overrides)
            if row.cls == "ok":
                self._counts["accepted"] += 1
                self._accepted_meter.add(now)
                remote_id = normalise_id(pdu.read_message_id(body), self.config.id_format)
                item.results[index] = PartOutcome(index + 1, "accepted", remote_id, None,
                                                  item.attempts[index])
                if index + 1 < len(item.parts):
                    self._ready.append((item, index + 1))
                else:
                    done.append(item)
            else:
                resend_at: float | None = None  # the same PDU again (same UDH), at this time
                if row.cls == "throttle":
                    self._counts["throttled"] += 1
                    self._refused_meter.add(now)
                    penalise = True
                    if now - item.first_sent[index] < self.config.throttle_retry_limit:
                        resend_at = now + min(1.0, 0.05 * 2 ** min(item.attempts[index], 5))
                elif (row.cls == "retryable" and index > 0
                      and item.attempts[index] <= self.config.part_retries):
                    resend_at = now + 0.5 * item.attempts[index]
                if resend_at is not None:
                    item.next_at = resend_at
                    self._ready.append((item, index))
                else:
                    self._counts["errors"] += 1
                    error = codes.error_for(code, self.config.status_overrides)
                    assert error is not None
                    done += self._fail_rest(item, index, error, "failed")
            self._cv.notify_all()
        if penalise and self._throttle is not None:
            try:
                self._throttle.penalise(crowded=crowded)
            except Exception:  # the throttle's store being down must not stop the reader
                log.exception("smpp %s: throttle penalise failed", self.name)
        self._finish(done)

    def _pick(self, now: float) -> tuple[tuple[Message, int] | None, float | None]:
        """The next part to write, or the time to wait for one; caller holds `_cv`."""
        soonest: float | None = None
        for position, (item, index) in enumerate(self._ready):
            if item.next_at <= now:
                del self._ready[position]
                return (item, index), None
            soonest = item.next_at if soonest is None else min(soonest, item.next_at)
        if self._incoming:
            return (self._incoming.popleft(), 0), None
        return None, None if soonest is None else soonest - now

    def _run_sender(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._stop.is_set():
                        return
                    wait: float | None = None
                    if self._state in ("bound", "closing") and self._sock is not None \
                            and self._slots < self.config.window:
                        picked, wait = self._pick(time.monotonic())
                        if picked is not None:
                            break
                    self._cv.wait(wait)
                self._slots += 1
                self._cv.notify_all()  # a place in the queue freed up
            item, index = picked
            if not self._send_part(item, index):
                done: list[Message] = []
                with self._cv:
                    self._slots -= 1
                    if self._stop.is_set():
                        # close() ended the drain while this part waited (for the throttle):
                        # it was not written, and no one reads the queues any more. Resolve it
                        # as close() resolved the queued ones.
                        done = self._fail_rest(item, index, Retryable(
                            "not sent: the session closed", code="closed"), "not_sent")
                    elif index == 0 and item.attempts[0] == 0:
                        self._incoming.appendleft(item)
                    else:
                        self._ready.appendleft((item, index))
                    self._cv.notify_all()
                self._finish(done)
                self._stop.wait(0.05)

    def _send_part(self, item: Message, index: int) -> bool:
        if self._throttle is not None:
            try:
                self._throttle.acquire(1)
            except Exception:  # never send unthrottled: wait for the shared store to return
                log.exception("smpp %s: throttle unavailable", self.name)
                self._stop.wait(1.0)
                return False
        written: float | None = None
        try:
            written = self._write_part(item, index)
        finally:
            if self._throttle is not None:
                # When the socket took it: a spaced account's next PDU is counted from here.
                try:
                    self._throttle.sent(written, more=written is not None and self._more())
                except Exception:
                    log.exception("smpp %s: throttle unavailable after a write", self.name)
        return written is not None

    def _more(self) -> bool:
        """Whether the sender has another part to write at once (a spaced account's tenure is
        kept for it, not handed back to the other processes)."""
        with self._cv:
            if self._slots >= self.config.window:
                return False
            now = time.monotonic()
            return bool(self._incoming) or any(item.next_at <= now for item, _ in self._ready)

    def _write_part(self, item: Message, index: int) -> float | None:
        """Write one part; the monotonic time the socket took it, or None when not written."""
        body = item.parts[index].body
        with self._wlock:
            sock = self._sock
            if sock is None or self._stop.is_set():
                return None  # nothing is written once close() has decided to unbind
            now = time.monotonic()
            sequence = self._next_seq()
            with self._cv:
                self._pending[sequence] = (item, index, now)
                item.attempts[index] += 1
                if not item.first_sent[index]:
                    item.first_sent[index] = now
                self._counts["sent"] += 1
                self._meter.add(now)
            try:
                data = pdu.encode(pdu.SUBMIT_SM, 0, sequence, body)
                sock.sendall(data)
                after = time.monotonic()
                # When the kernel sent it, if it says (departure.py): the time after sendall
                # is later by the receiver's wake-up and the interpreter's lock.
                left = None if self._departures is None else self._departures.wrote(len(data))
                return after if left is None else min(left, after)
            except OSError as exc:
                # A PDU not wholly written cannot have been taken: resend after reconnecting.
                log.warning("smpp %s: write failed: %s", self.name, exc)
                with self._cv:
                    self._pending.pop(sequence, None)
                    item.attempts[index] -= 1
                    self._counts["sent"] -= 1
        self._abort_link()
        return None

    def _sweep(self, now: float) -> None:
        done: list[Message] = []
        with self._cv:
            limit = now - self.config.response_timeout
            for sequence in [s for s, (_, _, at) in self._pending.items() if at < limit]:
                item, index, _ = self._pending.pop(sequence)
                self._slots -= 1
                self._counts["errors"] += 1
                done += self._fail_rest(item, index, Unknowable(
                    "no submit_sm_resp in time", code="timeout"), "unknown")
            if self._down_at is not None:
                stale = now - self.config.queue_timeout
                unbound = Retryable(f"not sent: no bind ({self._detail})", code="unbound")
                while self._incoming and self._incoming[0].queued_at < stale:
                    done += self._fail_rest(self._incoming.popleft(), 0, unbound, "not_sent")
                if self._down_at < stale:
                    done += self._take_ready(unbound)
            if done:
                self._cv.notify_all()
        self._finish(done)
        self._deliveries.sweep()

    def _link_down(self, sock: socket.socket, reason: str) -> None:
        """The link ended: whatever was in flight is unknowable, never resent."""
        reason, self._abort_reason = self._abort_reason or reason, None
        self._abort_link()
        with self._wlock:
            if self._sock is sock:
                self._sock = None
                self._generation += 1
                if self._departures is not None:
                    self._departures.close()
                    self._departures = None
        sock.close()
        done: list[Message] = []
        with self._cv:
            lost, self._pending = self._pending, {}
            self._slots -= len(lost)
            for item, index, _ in lost.values():
                done += self._fail_rest(item, index, Unknowable(
                    f"link lost with submit_sm in flight ({reason})", code="link_lost"), "unknown")
            self._counts["errors"] += len(lost)
            self._down_at = time.monotonic()
            if self._stop.is_set():  # closing: nothing will be written any more
                closed = Retryable("not sent: the session closed", code="closed")
                done += self._take_unstarted(closed) + self._take_ready(closed)
            self._set_state("disconnected" if not self._stop.is_set() else "closing", reason)
        if lost:
            log.warning("smpp %s: link lost with %d submit_sm in flight: %s", self.name,
                        len(lost), reason)
        self._finish(done)
