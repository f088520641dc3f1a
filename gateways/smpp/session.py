"""One SMPP bind: its socket, its threads, its window, its receipts.

    session = Session(config, name="viettel-1", on_deliver=store, throttle=throttle)
    session.start()                       # connects and binds in the background
    handle = session.submit(OutboundSms(ref="42", destination="84912345678", text="..."))
    outcome = handle.wait(30)             # SubmitOutcome: one PartOutcome per part
    session.status()                      # SessionStatus snapshot for the status page
    session.close()                       # drain the window, unbind, close (call on SIGTERM)

Built in layers, one module per seam: connection.py (the socket, sequence numbers, connect and
bind), window.py (parts queued and in flight, the sender, their outcomes), reader.py (the PDUs
the SMSC sends); this module holds the public API and the two loops that tie them together.

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

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable
from gateways.smpp import pdu
from gateways.smpp.config import SessionConfig
from gateways.smpp.delivery import Ack, DeliverEvent, Deliveries
from gateways.smpp.departure import Departures
from gateways.smpp.message import OutboundSms, RefCounter, build_parts
from gateways.smpp.metrics import RateMeter, RoundTrip, SessionStatus
from gateways.smpp.outcome import SubmitHandle, SubmitOutcome
from gateways.smpp.reader import Reader
from gateways.smpp.throttle import Throttle
from gateways.smpp.window import Message

log = logging.getLogger(__name__)

__all__ = ["Ack", "DeliverEvent", "Session", "SessionStatus", "Throttle"]


class Session(Reader):
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
        self._incoming = deque()
        self._ready = deque()
        self._pending = {}
        self._slots = 0
        self._wlock = threading.Lock()
        self._sock = None
        self._departures = None
        self._generation = 0
        self._seq = 0
        self._stop = threading.Event()
        self._closing = False
        self._unbound = threading.Event()
        self._enquire_at = 0.0  # when the last enquire_link was written
        self._enquire_waiting = False
        self._down_at = time.monotonic()
        self._abort_reason = None
        self._threads: list[threading.Thread] = []

        self._state = "idle"
        self._since = datetime.now(UTC)
        self._detail = None
        self._counts = dict.fromkeys(("sent", "accepted", "errors", "throttled", "receipts",
                                      "inbound", "binds"), 0)
        self._meter = RateMeter()
        self._accepted_meter = RateMeter()
        self._refused_meter = RateMeter(60)
        self._round_trip = RoundTrip()

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
        item = Message(message, encoding, parts)
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
                    time.monotonic()), accepted_rate=self._accepted_meter.rate(time.monotonic()),
                refused_recent=round(self._refused_meter.rate(time.monotonic()) * 60),
                round_trip=self._round_trip.value, window=self.config.window, **self._counts)

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

    # -- link thread: connect, bind, read until the link ends, reconnect -------------------

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
            self._time_out_in_the_kernel(sock, self.config.socket_timeout)
            with self._wlock:
                self._sock = sock
                # Only a spaced account counts from when a submit left; the stamps cost a
                # read of the error queue per write, which no other account needs.
                self._departures = (Departures(sock) if getattr(self._throttle, "pacing", None)
                                    == "spacing" else None)
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

    # -- timer thread ----------------------------------------------------------------------

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
