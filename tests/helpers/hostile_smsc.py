"""An SMSC of the tests' own that delivers whatever octets a test gives it.

Unlike the stand-in (scripts/smsc), it builds no receipts and keeps no rules: it accepts any
bind, answers enquire_link and unbind, and writes each deliver_sm exactly as given, keeping the
command_status of every deliver_sm_resp. A deliver_sm refused with a temporary error
(ESME_RX_T_APPN) is delivered again, as a real SMSC does, after `redeliver_after` seconds, on
whichever bind is up then.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, deque

from gateways.smpp import pdu
from gateways.smpp import status as codes

ESME_RX_T_APPN = codes.ESME_RX_T_APPN


class HostileSmsc:
    def __init__(self, *, window: int = 200, redeliver_after: float = 0.3) -> None:
        self.window = window
        self.redeliver_after = redeliver_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Condition()
        self._conn: socket.socket | None = None
        self._seq = 0
        self._outstanding: dict[int, tuple[bytes, str]] = {}  # seq -> body, label
        self._ready: deque[tuple[bytes, str]] = deque()  # (body, label) to deliver now
        self._later: list[tuple[float, bytes, str]] = []  # (due, body, label): refused ones
        self.answers: dict[str, int] = {}  # label -> final command_status
        self.refusals: Counter[str] = Counter()  # label -> temporary refusals
        self.binds = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._pump, daemon=True)]
        for thread in self._threads:
            thread.start()

    # -- what the tests call ---------------------------------------------------------------------

    def deliver(self, label: str, message: pdu.ShortMessage) -> None:
        """Deliver `message` (as soon as a bind is up and the window allows)."""
        with self._lock:
            self._ready.append((message.encode_body(), label))
            self._lock.notify_all()

    def wait_answered(self, labels: list[str], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not all(label in self.answers for label in labels):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def wait_binds(self, count: int, timeout: float = 60.0) -> bool:  # a process starting
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.binds < count or self._conn is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._lock.notify_all()

    # -- the server ------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _write(self, conn: socket.socket, data: bytes) -> None:
        # A link gone: what is outstanding is delivered again on the next bind.
        with contextlib.suppress(OSError):
            conn.sendall(data)

    def _serve(self, conn: socket.socket) -> None:
        stream = pdu.PduStream()
        try:
            while not self._stop.is_set():
                data = conn.recv(65536)
                if not data:
                    break
                for item in stream.feed(data):
                    self._handle(conn, item)
        except OSError:
            pass
        finally:
            with self._lock:
                if self._conn is conn:
                    self._conn = None
                    # Unanswered deliveries are delivered again on the next bind.
                    self._ready.extendleft(reversed(self._outstanding.values()))
                    self._outstanding.clear()
                self._lock.notify_all()
            conn.close()

    def _handle(self, conn: socket.socket, item: pdu.Pdu) -> None:
        command = item.command_id
        if command in pdu.BIND_COMMANDS.values():
            self._write(conn, pdu.encode(command | pdu.RESP, 0, item.sequence,
                                         pdu.bind_resp_body("hostile")))
            with self._lock:
                self._conn = conn
                self.binds += 1
                self._lock.notify_all()
        elif command == pdu.ENQUIRE_LINK:
            self._write(conn, pdu.encode(pdu.ENQUIRE_LINK | pdu.RESP, 0, item.sequence))
        elif command == pdu.UNBIND:
            self._write(conn, pdu.encode(pdu.UNBIND | pdu.RESP, 0, item.sequence))
        elif command == pdu.DELIVER_SM | pdu.RESP:
            with self._lock:
                entry = self._outstanding.pop(item.sequence, None)
                if entry is not None:
                    body, label = entry
                    if item.status == ESME_RX_T_APPN:
                        self.refusals[label] += 1
                        self._later.append((time.monotonic() + self.redeliver_after, body,
                                            label))
                    else:
                        self.answers[label] = item.status
                self._lock.notify_all()
        elif command == pdu.SUBMIT_SM:
            self._write(conn, pdu.encode(pdu.SUBMIT_SM | pdu.RESP, 0, item.sequence,
                                         pdu.message_id_body(f"h{item.sequence}")))

    def _pump(self) -> None:
        """Write due deliveries on the current bind, at most `window` unanswered at once."""
        while not self._stop.is_set():
            batch: list[bytes] = []
            with self._lock:
                now = time.monotonic()
                if self._later:
                    due = [(b, label) for at, b, label in self._later if at <= now]
                    self._later = [entry for entry in self._later if entry[0] > now]
                    self._ready.extend(due)
                conn = self._conn
                while conn is not None and self._ready and len(self._outstanding) < self.window:
                    body, label = self._ready.popleft()
                    self._seq += 1
                    self._outstanding[self._seq] = (body, label)
                    batch.append(pdu.encode(pdu.DELIVER_SM, 0, self._seq, body))
                if not batch:
                    self._lock.wait(0.05)
                    continue
            assert conn is not None
            self._write(conn, b"".join(batch))
