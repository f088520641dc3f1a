"""One SMPP bind: its socket, its threads, its window, its receipts.

    session = Session(config, name="viettel-1", on_deliver=store, throttle=throttle)
    session.start()                       # connects and binds in the background
    handle = session.submit(OutboundSms(ref="42", destination="84912345678", text="..."))
    outcome = handle.wait(30)             # SubmitOutcome: one PartOutcome per part
    session.status()                      # SessionStatus snapshot for the status page
    session.close()                       # drain the window, unbind, close (call on SIGTERM)

Threads (all daemons, named after the session):
- the link thread connects, binds, then is the one reader of the socket; when the link dies it
  fails what was in flight as `Unknowable` (never resent) and reconnects with capped exponential
  backoff and jitter. A refused bind (wrong password, ...) puts the session in `auth_failed`,
  retried only `auth_max_attempts` times, `auth_retry_delay` apart: no tight loop.
- the sender thread takes parts in order, at most `window` unanswered, asks the throttle, writes.
  The parts of a message go one after the other: part k+1 is written once part k is accepted, and
  a part refused with 0x58/0x14 is resent as the same PDU (same UDH) after the shared rate was cut.
- the timer thread sends enquire_link every `enquire_link_interval` (and drops a link whose
  enquire_link goes unanswered), times out unanswered submits (`Unknowable`) and queued messages
  that waited too long for a bind (`Retryable`, not sent), and flushes stale MO fragments.

Writes go through one lock; sequence numbers are taken under it and skip any still in flight.

Receipts and MO messages reach the owner through `on_deliver(event) -> bool` or
`on_deliver_later(event, ack)` (see gateways.smpp.delivery): the SMSC gets ESME_ROK only once the
owner stored the event, ESME_RX_T_APPN otherwise, so it delivers it again. A receipt may come
before its submit_sm_resp: it is handed over all the same (the owner keeps unmatched receipts and
matches them later).
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable, Unknowable
from gateways.results import Fragment, Receipt
from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.config import SessionConfig
from gateways.smpp.delivery import Ack, DeliverEvent, Deliveries
from gateways.smpp.message import OutboundSms, PreparedPart, RefCounter, build_parts, normalise_id
from gateways.smpp.metrics import RateMeter, SessionStatus
from gateways.smpp.outcome import PartOutcome, PartState, SubmitHandle, SubmitOutcome
from gateways.smpp.throttle import Throttle

log = logging.getLogger(__name__)

__all__ = ["Ack", "DeliverEvent", "Session", "SessionStatus", "Throttle"]


class _Message:
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


class Session:
    """One bind to one SMSC (see the module docstring)."""

    def __init__(self, config: SessionConfig, *, name: str = "",
                 on_deliver: Callable[[DeliverEvent], bool] | None = None,
                 on_deliver_later: Callable[[DeliverEvent, Ack], None] | None = None,
                 throttle: Throttle | None = None, refs: RefCounter | None = None) -> None:
        self.config = config
        self.name = name or f"{config.system_id}@{config.host}:{config.port}"
        self._throttle = throttle
        self._refs = refs or RefCounter()
        self._addressing = config.addressing
        self._queue_limit = config.queue_limit or 4 * config.window
        self._deliveries = Deliveries(
            self.name, on_deliver=on_deliver, on_deliver_later=on_deliver_later,
            receipt_ids=config.receipt_id_format or config.id_format,
            receipt_timezone=config.receipt_timezone,
            reassembly=config.mo_reassembly, reassembly_timeout=config.mo_reassembly_timeout,
            pending_limit=config.mo_pending_limit, on_stored=self._count_stored)

        self._cv = threading.Condition()
        self._incoming: deque[_Message] = deque()  # not started
        self._ready: deque[tuple[_Message, int]] = deque()  # next parts and resends
        self._pending: dict[int, tuple[_Message, int, float]] = {}  # seq -> message, index, at
        self._slots = 0  # window places taken: picked by the sender or in flight
        self._wlock = threading.Lock()
        self._sock: socket.socket | None = None
        self._generation = 0
        self._seq = 0
        self._stop = threading.Event()
        self._closing = False
        self._unbound = threading.Event()
        self._enquire_at = 0.0  # when the last enquire_link was written
        self._enquire_waiting = False
        self._down_at: float | None = time.monotonic()  # since when no bind (None: bound)
        self._abort_reason: str | None = None
        self._threads: list[threading.Thread] = []

        self._state = "idle"
        self._since = datetime.now(UTC)
        self._detail: str | None = None
        self._counts = dict.fromkeys(("sent", "accepted", "errors", "throttled", "receipts",
                                      "inbound", "binds"), 0)
        self._meter = RateMeter()

    # -- public ----------------------------------------------------------------------------

    def start(self) -> Session:
        """Connect and bind in the background; returns at once."""
        if self._threads:
            return self
        for target, role in ((self._run_link, "link"), (self._run_sender, "send"),
                             (self._run_timer, "timer")):
            thread = threading.Thread(target=target, name=f"smpp-{self.name}-{role}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def wait_bound(self, timeout: float | None = None) -> bool:
        """Wait until bound; False on timeout or when the bind was refused."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._state not in ("bound", "auth_failed", "closed"):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cv.wait(left)
            return self._state == "bound"

    @property
    def state(self) -> str:
        return self._state

    def submit(self, message: OutboundSms, *, timeout: float | None = None,
               on_done: Callable[[SubmitOutcome], None] | None = None) -> SubmitHandle:
        """Queue one message; blocks while the queue is full (up to `timeout`, then Retryable).

        The handle resolves to a SubmitOutcome: every part accepted with its SMSC id, or the
        error of each part (Retryable / Permanent / Unknowable / AuthFailed). Raises Permanent at
        once if the message cannot be encoded into PDUs (e.g. an over-long address).
        """
        if self.config.bind_mode == "receiver":
            raise Permanent("a receiver bind cannot submit", code="bind_mode")
        try:
            encoding, parts = build_parts(message, self._addressing, self._refs)
        except (pdu.PduError, ValueError) as exc:
            raise Permanent(f"cannot build submit_sm: {exc}", code="encoding") from exc
        item = _Message(message, encoding, parts)
        if on_done is not None:
            item.handle.add_done_callback(on_done)
        deadline = None if timeout is None else time.monotonic() + timeout
        refused: GatewayError | None = None
        with self._cv:
            while not refused:
                if self._closing or self._stop.is_set():
                    refused = Retryable("not sent: the session is closing", code="closed")
                elif self._state == "auth_failed":
                    refused = AuthFailed(f"not sent: bind refused ({self._detail})",
                                         code="auth_failed")
                elif len(self._incoming) < self._queue_limit:
                    self._incoming.append(item)
                    self._cv.notify_all()
                    return item.handle
                else:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise Retryable("the session queue is full", code="queue_full")
                    self._cv.wait(left)
        self._finish(self._fail_rest(item, 0, refused, "not_sent"))
        return item.handle

    def submit_many(self, messages: Iterable[OutboundSms],
                    timeout: float | None = None) -> list[SubmitOutcome]:
        """Submit and wait for all; outcomes in the order given (pipelined in the window)."""
        handles = [self.submit(message) for message in messages]
        deadline = None if timeout is None else time.monotonic() + timeout
        outcomes = []
        for handle in handles:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            outcome = handle.wait(left)
            if outcome is None:
                raise TimeoutError(f"message {handle.ref} not resolved in time")
            outcomes.append(outcome)
        return outcomes

    def status(self) -> SessionStatus:
        with self._cv:
            return SessionStatus(
                name=self.name, bind_mode=self.config.bind_mode, state=self._state,
                since=self._since, detail=self._detail, in_flight=len(self._pending),
                queued=len(self._incoming) + len(self._ready), rate=self._meter.rate(
                    time.monotonic()), **self._counts)

    def close(self, timeout: float | None = None) -> None:
        """Stop taking messages, let the window drain, unbind and close the socket."""
        drain = self.config.drain_timeout if timeout is None else timeout
        deadline = time.monotonic() + drain
        with self._cv:
            if self._state == "closed":
                return
            self._closing = True
            self._set_state("closing", self._detail)
            # `_slots` counts the parts in flight and the one the sender holds (it may be
            # waiting for the throttle): those are drained too.
            while (self._incoming or self._ready or self._slots) and self._sock is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            closed = Retryable("not sent: the session closed", code="closed")
            stale = self._take_unstarted(closed) + self._take_ready(closed)
            self._stop.set()
            self._cv.notify_all()
        self._finish(stale)
        if self._sock is not None:
            self._unbound.clear()
            with self._wlock:
                sequence = self._next_seq()
            if self._write(pdu.encode(pdu.UNBIND, 0, sequence)):
                self._unbound.wait(min(2.0, self.config.response_timeout))
        self._abort_link()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5.0)
        with self._cv:
            self._set_state("closed", self._detail)

    # -- state and helpers -------------------------------------------------------------------

    def _set_state(self, state: str, detail: str | None = None) -> None:
        """Change state; the caller holds `_cv`."""
        if state != self._state or detail != self._detail:
            log.info("smpp %s: %s%s", self.name, state, f" ({detail})" if detail else "")
        self._state, self._detail, self._since = state, detail, datetime.now(UTC)
        self._cv.notify_all()

    def _next_seq(self) -> int:
        """A sequence number not in flight; the caller holds `_wlock` (or nobody writes yet)."""
        while True:
            self._seq = self._seq + 1 if self._seq < 0x7FFFFFFF else 1
            if self._seq not in self._pending:
                return self._seq

    def _write(self, data: bytes, generation: int | None = None) -> bool:
        """Write one PDU on the current link (only if it is still `generation`, when given)."""
        with self._wlock:
            sock = self._sock
            if sock is None or (generation is not None and generation != self._generation):
                return False
            try:
                sock.sendall(data)
                return True
            except OSError as exc:
                log.warning("smpp %s: write failed: %s", self.name, exc)
        self._abort_link()
        return False

    def _abort_link(self, reason: str | None = None) -> None:
        """Make the reader see the link end (it then cleans up and reconnects)."""
        if reason:
            self._abort_reason = reason
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _fail_rest(self, item: _Message, index: int, error: GatewayError,
                   state: PartState) -> list[_Message]:
        """Part `index` ends with `error`; later parts are not sent. Returns [item] if done."""
        item.results[index] = PartOutcome(index + 1, state, None, error, item.attempts[index])
        # Later parts were never written: after an unknowable part they are merely not sent.
        kind = Retryable if isinstance(error, Unknowable) else type(error)
        for later in range(index + 1, len(item.parts)):
            item.results[later] = PartOutcome(
                later + 1, "not_sent", None,
                kind(f"not sent: part {index + 1} {state}", code=error.code), 0)
        return [item]

    def _take_unstarted(self, error: GatewayError) -> list[_Message]:
        """Fail every message that has not had a part written yet; caller holds `_cv`."""
        done = []
        while self._incoming:
            done += self._fail_rest(self._incoming.popleft(), 0, error, "not_sent")
        return done

    def _take_ready(self, error: GatewayError) -> list[_Message]:
        """Fail the parts waiting to be written (earlier parts were); caller holds `_cv`."""
        done = []
        while self._ready:
            item, index = self._ready.popleft()
            done += self._fail_rest(item, index, error, "not_sent")
        return done

    def _finish(self, messages: list[_Message]) -> None:
        """Resolve the handles of finished messages (outside `_cv`: callbacks run here)."""
        for item in messages:
            results = tuple(r for r in item.results if r is not None)
            item.handle._resolve(SubmitOutcome(item.sms.ref, item.encoding, results))

    # -- link thread ---------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.reconnect_max, self.config.reconnect_initial * 2 ** attempt)
        return cap / 2 + random.uniform(0, cap / 2)

    def _run_link(self) -> None:
        attempt, auth_failures = 0, 0
        while not self._stop.is_set():
            with self._cv:
                self._set_state("connecting", self._detail)
            try:
                sock, refused, stream, early = self._connect_and_bind()
            except (OSError, pdu.PduError) as exc:
                with self._cv:
                    self._set_state("disconnected", f"connect/bind failed: {exc}")
                self._stop.wait(self._backoff(attempt))
                attempt += 1
                continue
            if refused is not None:
                delay: float | None = self._backoff(attempt)
                with self._cv:
                    if refused.cls == "auth":
                        auth_failures += 1
                        self._set_state("auth_failed", f"{refused.name}: {refused.description}")
                        stale = self._take_unstarted(AuthFailed(
                            f"not sent: bind refused ({refused.name})", code=refused.hex))
                        delay = (self.config.auth_retry_delay
                                 if auth_failures < self.config.auth_max_attempts else None)
                    else:
                        self._set_state("disconnected", f"bind refused: {refused.name}")
                        stale = []
                self._finish(stale)
                attempt += 1
                if delay is None:
                    log.error("smpp %s: bind refused %d times, giving up", self.name,
                              auth_failures)
                    self._stop.wait()
                    return
                self._stop.wait(delay)
                continue
            if self._stop.is_set():  # close() came while we were binding
                sock.close()
                return
            attempt, auth_failures = 0, 0
            sock.settimeout(self.config.socket_timeout)
            with self._wlock:
                self._sock = sock
                self._generation += 1
                generation = self._generation
            with self._cv:
                self._counts["binds"] += 1
                self._down_at = None
                self._enquire_at, self._enquire_waiting = time.monotonic(), False
                self._set_state("bound")
            reason = self._read_loop(sock, generation, stream, early)
            self._link_down(sock, reason)
            if not self._stop.is_set():
                self._stop.wait(self._backoff(attempt))
                attempt += 1

    def _connect_and_bind(self) -> tuple[socket.socket, codes.Status | None, pdu.PduStream,
                                         list[pdu.Pdu]]:
        """Connect and bind; on success also the stream and the PDUs read after the bind_resp
        (an SMSC sends waiting receipts and MO at once, often in the same segment): they are
        the read loop's, not to be dropped."""
        config = self.config
        sock = socket.create_connection((config.host, config.port), config.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cv:
                self._set_state("binding")
            command = pdu.BIND_COMMANDS[config.bind_mode]
            body = pdu.Bind(config.system_id, config.password, config.system_type).encode_body()
            sock.sendall(pdu.encode(command, 0, self._next_seq(), body))
            stream = pdu.PduStream()
            deadline = time.monotonic() + config.connect_timeout
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(4096)
                if not data:
                    raise ConnectionError("closed by the SMSC during bind")
                replies = stream.feed(data)
                for index, reply in enumerate(replies):
                    if reply.command_id in (command | pdu.RESP, pdu.GENERIC_NACK):
                        if reply.status == codes.ESME_ROK:
                            return sock, None, stream, replies[index + 1:]
                        sock.close()
                        return (sock, codes.lookup(reply.status, config.status_overrides),
                                stream, [])
                    if reply.command_id == pdu.ENQUIRE_LINK:
                        sock.sendall(pdu.encode(pdu.ENQUIRE_LINK | pdu.RESP, 0, reply.sequence))
        except BaseException:
            sock.close()
            raise

    def _read_loop(self, sock: socket.socket, generation: int, stream: pdu.PduStream,
                   early: list[pdu.Pdu]) -> str:
        for item in early:
            ended = self._dispatch(item, generation)
            if ended:
                return ended
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if self._stop.is_set() and not self._pending:
                    return "closed"
                continue
            except OSError as exc:
                return f"read failed: {exc}"
            if not data:
                return "closed by the SMSC" if not self._stop.is_set() else "closed"
            try:
                pdus = stream.feed(data)
            except pdu.PduError as exc:
                return f"protocol error: {exc}"
            for item in pdus:
                ended = self._dispatch(item, generation)
                if ended:
                    return ended

    def _link_down(self, sock: socket.socket, reason: str) -> None:
        """The link ended: whatever was in flight is unknowable, never resent."""
        reason, self._abort_reason = self._abort_reason or reason, None
        self._abort_link()
        with self._wlock:
            if self._sock is sock:
                self._sock = None
                self._generation += 1
        sock.close()
        done: list[_Message] = []
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

    # -- reading -------------------------------------------------------------------------------

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

    def _on_submit_resp(self, sequence: int, code: int, body: bytes) -> None:
        done: list[_Message] = []
        penalise = False
        now = time.monotonic()
        with self._cv:
            entry = self._pending.pop(sequence, None)
            if entry is None:
                log.warning("smpp %s: submit_sm_resp for unknown seq %d (%s)", self.name,
                            sequence, codes.name(code))
                return
            self._slots -= 1
            item, index, _ = entry
            row = codes.lookup(code, self.config.status_overrides)
            if row.cls == "ok":
                self._counts["accepted"] += 1
                remote_id = normalise_id(pdu.read_message_id(body), self.config.id_format)
                item.results[index] = PartOutcome(index + 1, "accepted", remote_id, None,
                                                  item.attempts[index])
                if index + 1 < len(item.parts):
                    self._ready.append((item, index + 1))
                else:
                    done.append(item)
            elif row.cls == "throttle":
                self._counts["throttled"] += 1
                penalise = True
                if now - item.first_sent[index] < self.config.throttle_retry_limit:
                    item.next_at = now + min(1.0, 0.05 * 2 ** min(item.attempts[index], 5))
                    self._ready.append((item, index))
                else:
                    self._counts["errors"] += 1
                    error = codes.error_for(code, self.config.status_overrides)
                    assert error is not None
                    done += self._fail_rest(item, index, error, "failed")
            elif (row.cls == "retryable" and index > 0
                  and item.attempts[index] <= self.config.part_retries):
                item.next_at = now + 0.5 * item.attempts[index]
                self._ready.append((item, index))
            else:
                self._counts["errors"] += 1
                error = codes.error_for(code, self.config.status_overrides)
                assert error is not None
                done += self._fail_rest(item, index, error, "failed")
            self._cv.notify_all()
        if penalise and self._throttle is not None:
            try:
                self._throttle.penalise()
            except Exception:  # the throttle's store being down must not stop the reader
                log.exception("smpp %s: throttle penalise failed", self.name)
        self._finish(done)

    def _on_deliver_sm(self, item: pdu.Pdu, generation: int) -> None:
        sequence = item.sequence

        def answer(code: int) -> None:
            self._write(pdu.encode(pdu.DELIVER_SM | pdu.RESP, code, sequence, b"\x00"), generation)

        self._deliveries.handle(item.body, answer)

    def _count_stored(self, event: DeliverEvent) -> None:
        if isinstance(event, Fragment):
            return  # a part: the owner counts the message it makes
        with self._cv:
            self._counts["receipts" if isinstance(event, Receipt) else "inbound"] += 1

    # -- sender thread -------------------------------------------------------------------------

    def _pick(self, now: float) -> tuple[tuple[_Message, int] | None, float | None]:
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
                done: list[_Message] = []
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

    def _send_part(self, item: _Message, index: int) -> bool:
        if self._throttle is not None:
            try:
                self._throttle.acquire(1)
            except Exception:  # never send unthrottled: wait for the shared store to return
                log.exception("smpp %s: throttle unavailable", self.name)
                self._stop.wait(1.0)
                return False
        body = item.parts[index].body
        with self._wlock:
            sock = self._sock
            if sock is None or self._stop.is_set():
                return False  # nothing is written once close() has decided to unbind
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
                sock.sendall(pdu.encode(pdu.SUBMIT_SM, 0, sequence, body))
                return True
            except OSError as exc:
                # A PDU not wholly written cannot have been taken: resend after reconnecting.
                log.warning("smpp %s: write failed: %s", self.name, exc)
                with self._cv:
                    self._pending.pop(sequence, None)
                    item.attempts[index] -= 1
                    self._counts["sent"] -= 1
        self._abort_link()
        return False

    # -- timer thread --------------------------------------------------------------------------

    def _run_timer(self) -> None:
        config = self.config
        tick = max(0.02, min(1.0, config.enquire_link_interval / 4, config.response_timeout / 4))
        while not self._stop.wait(tick):
            now = time.monotonic()
            if self._state == "bound" and self._sock is not None:
                if self._enquire_waiting:
                    if now - self._enquire_at > config.response_timeout:
                        log.warning("smpp %s: enquire_link unanswered, dropping the link",
                                    self.name)
                        self._enquire_waiting = False
                        self._abort_link("enquire_link unanswered")
                elif now - self._enquire_at >= config.enquire_link_interval:
                    self._enquire_at, self._enquire_waiting = now, True
                    with self._wlock:
                        sequence = self._next_seq()
                    self._write(pdu.encode(pdu.ENQUIRE_LINK, 0, sequence))
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        done: list[_Message] = []
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
