"""When the kernel sent what a bind wrote: Linux's transmit timestamps (SO_TIMESTAMPING).

    departures = Departures(sock)     # after the bind: every later write is counted
    departures.wrote(len(data))       # under the write lock, after each sendall
    at = departures.sent_at()         # monotonic time the last write left, or None

A spaced account counts its next slot from when the previous submit left (throttle.py). The
time after `sendall` returns is an upper bound of that only as far as Python can tell, and a
late one: on this 2-core machine 0.1-0.3 ms after the kernel handed the PDU on (the receiver
woken inside the call preempts the writer, then the interpreter's lock is taken back), which at
a 5 ms interval is 2-6 % of the allowance never made up. The kernel stamps the moment the
segment holding the last byte of the write went to the device (`SOF_TIMESTAMPING_TX_SOFTWARE`):
the write's departure, which nothing later in the call or in the interpreter can move. Each
stamp names the last byte it covers (`OPT_ID`), so a stamp is taken for a write only when it
covers that write's last byte; when there is none (the segment was held back, an old kernel, not
Linux) the caller keeps the time after `sendall`, as before. Stamps are read from the socket's
error queue, which must be drained after every write of the bind (a non-empty error queue makes
the reader's poll return at once): `wrote` does both.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time

SO_TIMESTAMPING = 37  # Linux, <asm-generic/socket.h>
# TX_SOFTWARE (stamp at the device) | SOFTWARE (report it) | OPT_ID (name the byte) | OPT_TSONLY
# (no copy of the data back)
FLAGS = (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11)
RECVERR = {(socket.IPPROTO_IP, 11), (getattr(socket, "IPPROTO_IPV6", 41), 25)}  # IP(V6)_RECVERR
ORIGIN_TIMESTAMPING = 4


class Departures:
    """The transmit stamps of one socket (not thread-safe: call under the bind's write lock)."""

    def __init__(self, sock: socket.socket) -> None:
        self._queue: socket.socket | None = None
        self._written = 0  # bytes written since the stamps were turned on
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, FLAGS)
            # A second handle on the socket without Python's timeout (reading an empty error
            # queue must answer at once, not wait for the socket's timeout), made from the
            # descriptor so that the socket's blocking mode, which the two share, is left as
            # it is: each read says not to wait (MSG_DONTWAIT) instead.
            self._queue = socket.socket(sock.family, sock.type, sock.proto,
                                        fileno=os.dup(sock.fileno()))
        except (OSError, AttributeError):
            self._queue = None

    @property
    def enabled(self) -> bool:
        return self._queue is not None

    def wrote(self, size: int) -> float | None:
        """`size` bytes were just written: the monotonic time they left, when the kernel said;
        drains the stamps of earlier writes."""
        self._written += size
        if self._queue is None:
            return None
        end = (self._written - 1) & 0xFFFFFFFF  # the kernel counts in 32 bits
        stamp = None
        for covered, at in self._drain():
            if (covered - end) & 0xFFFFFFFF < 1 << 31 and stamp is None:  # covered >= end
                stamp = at  # the first stamp covering our last byte: when it left
        if stamp is None:
            return None
        # Realtime to monotonic, read together now: a clock step between the two reads is the
        # only error, and the stamp is a few µs old.
        return time.monotonic() - (time.time() - stamp)

    def _drain(self) -> list[tuple[int, float]]:
        assert self._queue is not None
        found: list[tuple[int, float]] = []
        while True:
            try:
                _, ancillary, _, _ = self._queue.recvmsg(
                    0, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return found
            except OSError:
                return found
            at: float | None = None
            covered: int | None = None
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING and len(data) >= 16:
                    seconds, nanoseconds = struct.unpack_from("qq", data)
                    at = seconds + nanoseconds / 1e9
                elif (level, kind) in RECVERR and len(data) >= 16:
                    _, origin, _, _, _, _, key = struct.unpack_from("=IBBBBII", data)
                    if origin == ORIGIN_TIMESTAMPING:
                        covered = key
            if at is not None and covered is not None:
                found.append((covered, at))

    def close(self) -> None:
        if self._queue is not None:
            with contextlib.suppress(OSError):
                self._queue.close()
            self._queue = None
