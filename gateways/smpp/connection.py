"""The socket side of a session: state, sequence numbers, locked writes, connect and bind.

`Session` (session.py) is built from three layers, each adding a seam of the bind: this one
(the socket and the bind), `Window` (window.py: parts in flight, the sender, their outcomes) and
`Reader` (reader.py: the PDUs the SMSC sends). They share the state `Session.__init__` sets; each
layer names the part of it that it uses.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import struct
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateways.smpp import pdu
from gateways.smpp import status as codes
from gateways.smpp.config import SessionConfig
from gateways.smpp.departure import Departures

if TYPE_CHECKING:
    from gateways.smpp.window import Message

log = logging.getLogger(__name__)


class Connection:
    """The socket of one bind: writes under `_wlock`, state changes under `_cv`."""

    config: SessionConfig
    name: str
    _cv: threading.Condition
    _wlock: threading.Lock
    _sock: socket.socket | None
    _departures: Departures | None  # the kernel's stamps of the current socket's writes
    _generation: int  # bumped when the socket changes: a write for an old link is dropped
    _seq: int
    _pending: dict[int, tuple[Message, int, float]]  # seq -> message, part index, written at
    _stop: threading.Event
    _abort_reason: str | None
    _state: str
    _detail: str | None
    _since: datetime

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
                if self._departures is not None:
                    self._departures.wrote(len(data))  # (drains its stamp)
                return True
            except OSError as exc:
                log.warning("smpp %s: write failed: %s", self.name, exc)
        self._abort_link()
        return False

    @staticmethod
    def _time_out_in_the_kernel(sock: socket.socket, seconds: float) -> None:
        """Make a bound socket blocking, its reads and writes timing out after `seconds` in
        the kernel (SO_RCVTIMEO, SO_SNDTIMEO: a read that times out raises BlockingIOError).
        Python's own timeout polls before every read and write: a second system call and a
        second release and retake of the interpreter's lock for each PDU, which a busy
        process hands between its threads dozens of times per message."""
        sock.settimeout(None)
        whole = int(seconds)
        value = struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)

    def _abort_link(self, reason: str | None = None) -> None:
        """Make the reader see the link end (it then cleans up and reconnects)."""
        if reason:
            self._abort_reason = reason
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.reconnect_max, self.config.reconnect_initial * 2 ** attempt)
        return cap / 2 + random.uniform(0, cap / 2)

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
