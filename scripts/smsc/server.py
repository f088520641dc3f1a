"""The stand-in SMSC: an SMPP 3.4 server on asyncio, run in a thread of its own.

    smsc = Smsc({"loa": "secret"}, Behaviour(receipt_delay=0.2)).start()
    ... bind to 127.0.0.1:smsc.port ...
    smsc.received("84912345678")     # what reached it for that number, in order
    smsc.stats()["repeats"]          # accepted submit_sm repeating a number and text
    smsc.set(tps=50)                 # change behaviour while running
    smsc.drop()                      # cut every connection
    smsc.send_mo("loa", "84912345678", "8088", "HUY")
    smsc.stop()

Every method may be called from any thread; they run on the server's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import socket
import struct
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from gateways.smpp import pdu
from gateways.sms import encoding as sms

T = TypeVar("T")

ESME_ROK = 0x00
ESME_RINVBNDSTS = 0x04
ESME_RINVCMDID = 0x03
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RINVCMDLEN = 0x02

# Linux's receive stamps (<asm-generic/socket.h>): SO_TIMESTAMPNS asks for one per read, in a
# control message of the same number holding a struct timespec of CLOCK_REALTIME.
SO_TIMESTAMPNS = 35
STAMP_SPACE = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 64
BULK_READ = 262_144  # bytes per read when no allowance is policed (asyncio's own size)

STATE_CODES = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5,
               "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8}


# Free answers a survey gets: GSM-7, UCS-2 with diacritics, and one long enough to be cut.
FREE_ANSWERS = (
    "Cam on, toi se tham gia",
    "Đề nghị làm rõ thêm mục 3",
    "Tôi đề nghị dự thảo bổ sung nội dung về phát triển nông nghiệp, nông thôn mới và chăm lo "
    "đời sống người dân vùng sâu, vùng xa của tỉnh",
)


@dataclass
class Behaviour:
    """What the stand-in does; change any field at run time with `Smsc.set`."""

    id_format: str = "hex"  # message ids in submit_sm_resp: hex | dec | uuid
    receipt_id_format: str | None = None  # ids written in receipts (default: id_format)
    receipts: bool = True  # send a receipt when registered_delivery asks for one
    receipt_delay: float = 0.0
    outcomes: dict[str, float] = field(default_factory=lambda: {"DELIVRD": 1.0})
    receipt_tlvs: bool = True  # receipted_message_id + message_state TLVs besides the text
    tps: float | None = None  # the allowance: submit_sm past it answered 0x58, as `policing` says
    # How the allowance is policed (docs/ENGINE.md, "Pacing"): `second` counts per wall-clock
    # second per account; `sliding` over the last second; `interval` refuses a submit less
    # than 1/tps after the account's previous accepted one (Jasmin), `interval_bind` after the
    # same bind's previous one.
    policing: str = "second"
    # Slack allowed by `interval` policing (seconds): a busy network (or, with arrival="read",
    # a busy stand-in) delays one PDU and crowds the next by that much.
    tolerance: float = 0.0
    # When a submit_sm arrived, for policing and records: "kernel" (the moment the kernel
    # received its last byte, SO_TIMESTAMPNS, as an SMSC with a reader of its own sees it;
    # read time where the platform gives no stamp) or "read" (when this Python loop got to
    # read it: one submit read late then crowds the next one read on time). Set at connect.
    arrival: str = "kernel"
    throttle_ratio: float = 0.0  # this share of submit_sm (at random) answered 0x58
    window: int | None = None  # unanswered submit_sm above this per bind: 0x14
    resp_delay: float = 0.0  # submit_sm_resp written this late
    receipt_before_resp: bool = False  # the receipt goes out before the submit_sm_resp
    duplicate_receipts: float = 0.0  # this share of receipts (at random) delivered twice
    # After this share of accepted submits (at random), a receipt for an id never issued.
    stray_receipts: float = 0.0
    drop_every: float | None = None  # cut every connection this often (seconds)
    reject: dict[str, int] = field(default_factory=dict)  # destination -> command_status
    redeliver_delay: float = 0.2  # after a deliver_sm_resp with an error
    # Unanswered deliver_sm per bind, as an operator's SMSC keeps it; more wait their turn in
    # order. None: every delivery written at once (a flood).
    deliver_window: int | None = None
    record: bool = True  # keep every submit_sm (off for long benchmarks)
    seed: int | None = None
    # Per account (system_id), any of POLICY's fields overriding the ones above.
    per_account: dict[str, dict[str, Any]] = field(default_factory=dict)


# The fields an account may set apart from the others (`Behaviour.per_account`).
POLICY = ("tps", "policing", "tolerance", "window", "resp_delay", "throttle_ratio")
POLICING = ("second", "sliding", "interval", "interval_bind")
ARRIVALS = ("kernel", "read")


@dataclass(frozen=True)
class Received:
    """One submit_sm as the stand-in got it."""

    account: str
    bind: int
    sequence: int
    destination: str
    source: str
    source_ton: int
    source_npi: int
    dest_ton: int
    dest_npi: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    validity_period: str
    short_message: bytes
    tlvs: dict[int, bytes]
    message_id: str
    status: int
    at: float  # when it arrived (Behaviour.arrival), time.time()'s clock
    read_at: float | None = None  # when the stand-in's loop read it

    @property
    def udh(self) -> bytes:
        """The UDH (length octet included) when esm_class says there is one."""
        if self.esm_class & pdu.ESM_CLASS_UDHI and self.short_message:
            return self.short_message[:1 + self.short_message[0]]
        return b""

    @property
    def text(self) -> str:
        payload = self.short_message[len(self.udh):]
        if not payload and pdu.TLV_MESSAGE_PAYLOAD in self.tlvs:
            payload = self.tlvs[pdu.TLV_MESSAGE_PAYLOAD]
        return sms.decode(payload, self.data_coding)


@dataclass
class _Delivery:
    account: str
    body: bytes
    kind: str  # receipt | mo
    attempts: int = 0


def _check_policy(values: dict[str, Any]) -> None:
    if "policing" in values and values["policing"] not in POLICING:
        raise ValueError(f"policing is one of {', '.join(POLICING)}")
    if "arrival" in values and values["arrival"] not in ARRIVALS:
        raise ValueError(f"arrival is one of {', '.join(ARRIVALS)}")


def smpp_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%y%m%d%H%M")


def _stamped_reader(sock: Any) -> socket.socket | None:
    """A second handle on a connection's socket that reads with the kernel's receive stamps
    (non-blocking); None where the platform gives none."""
    try:
        reader = socket.fromfd(sock.fileno(), sock.family, sock.type)
    except (OSError, AttributeError):
        return None
    try:
        reader.setblocking(False)
        reader.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        reader.recvmsg  # noqa: B018 (not on every platform)
    except (OSError, AttributeError):
        reader.close()
        return None
    return reader


def _kernel_stamp(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack_from("qq", data)
            return seconds + nanoseconds / 1e9
    return None


class _Conn(asyncio.Protocol):
    def __init__(self, smsc: Smsc, number: int) -> None:
        self.smsc = smsc
        self.number = number
        self.stream = pdu.PduStream()
        self.transport: asyncio.Transport | None = None
        self.account: str | None = None
        self.mode: str | None = None
        self.outstanding = 0
        self.last_accepted = 0.0  # `interval_bind` policing
        self.seq = 0
        self.deliveries: dict[int, _Delivery] = {}
        self.waiting: deque[_Delivery] = deque()  # beyond `deliver_window`
        self._out: list[bytes] | None = None
        # arrival="kernel": this connection is read here, not by the transport (see _read).
        self._reader: socket.socket | None = None
        self._last_stamp: float | None = None

    @property
    def can_receive(self) -> bool:
        return self.mode in ("transceiver", "receiver")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.smsc.behaviour.arrival == "kernel":
                self._reader = _stamped_reader(sock)
        if self._reader is not None:
            # The transport only writes; this connection reads its own socket, each read
            # stamped by the kernel. asyncio's transport has no way to pass the stamps on.
            transport.pause_reading()
            assert self.smsc._loop is not None
            self.smsc._loop.add_reader(self._reader.fileno(), self._read)
        self.smsc._conns.add(self)
        self.smsc.counts["connections"] += 1

    def close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            if self.smsc._loop is not None:
                self.smsc._loop.remove_reader(reader.fileno())
            with contextlib.suppress(OSError):
                reader.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close_reader()  # before the transport closes its handle: the last one sends FIN
        self.smsc._conns.discard(self)
        for delivery in [*self.deliveries.values(), *self.waiting]:
            self.smsc._backlog[delivery.account].append(delivery)  # on the next bind
        self.deliveries.clear()
        self.waiting.clear()

    def write(self, data: bytes) -> None:
        if self._out is not None:
            self._out.append(data)
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self._out = []
        try:
            for item in self.stream.feed(data):
                self.smsc._handle(self, item)
        except pdu.PduError:
            assert self.transport is not None
            self.transport.abort()
        finally:
            self._flush()

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def _read(self) -> None:
        """Read what the socket holds, each read stamped by the kernel (arrival="kernel").

        The stamp of a TCP read is the receive time of the last segment it took bytes from, so
        while the account is policed each read takes exactly the rest of one PDU: its stamp is
        when that PDU's last byte came, however late this loop gets to it. Segments still
        unread when the next one comes are merged by the kernel under the later one's stamp;
        two submits with one stamp are counted (`stamps_shared`): this loop read the first
        only after the second had arrived. Unpoliced accounts are read in bulk, as asyncio does.
        """
        transport, reader = self.transport, self._reader
        if reader is None or transport is None or transport.is_closing():
            self.close_reader()
            return
        self._out = []
        try:
            for _ in range(64):  # then let the loop serve the others
                policed = self.account is not None and self.smsc._policed(self.account)
                try:
                    data, ancillary, _, _ = reader.recvmsg(
                        self.stream.wanted() if policed else BULK_READ, STAMP_SPACE)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    transport.abort()
                    break
                if not data:  # the peer closed
                    transport.close()
                    break
                read_at = time.time()
                stamp = _kernel_stamp(ancillary)
                for item in self.stream.feed(data):
                    shared = stamp is not None and stamp == self._last_stamp
                    self._last_stamp = stamp
                    self.smsc._handle(self, item, stamp, read_at, shared)
        except pdu.PduError:
            transport.abort()
        finally:
            self._flush()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def deliver(self, delivery: _Delivery) -> None:
        window = self.smsc.behaviour.deliver_window
        if window is not None and len(self.deliveries) >= window:
            self.waiting.append(delivery)
            return
        sequence = self.next_seq()
        delivery.attempts += 1
        self.deliveries[sequence] = delivery
        self.write(pdu.encode(pdu.DELIVER_SM, 0, sequence, delivery.body))
        self.smsc.counts[f"{delivery.kind}s_sent"] += 1


class Smsc:
    """The stand-in server (see the module docstring)."""

    def __init__(self, accounts: dict[str, str], behaviour: Behaviour | None = None, *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.accounts = dict(accounts)
        self.behaviour = behaviour or Behaviour()
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[_Conn] = set()
        self._conn_numbers = 0
        self._ids = 0
        self._backlog: dict[str, list[_Delivery]] = defaultdict(list)
        self._rotation = 0
        self._random = random.Random(self.behaviour.seed)
        self._drop_task: asyncio.Task[None] | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.counts: Counter[str] = Counter()
        self.records: list[Received] = []
        self.by_destination: dict[str, list[Received]] = defaultdict(list)
        self.seconds: dict[str, Counter[int]] = defaultdict(Counter)
        self.max_outstanding: dict[str, int] = defaultdict(int)
        self._ref_nums: dict[str, int] = defaultdict(int)
        # (destination, short_message, message_payload) of every accepted submit_sm, kept with
        # recording off too: `repeats` counts duplicate sends in benchmarks that keep no records.
        self._accepted: set[tuple[str, bytes, bytes]] = set()
        # What the policing of each account remembers: accepted submits per second, the
        # accepted ones of the last second, the last accepted.
        self._second_ok: dict[str, Counter[int]] = defaultdict(Counter)
        self._last_second: dict[str, deque[float]] = defaultdict(deque)
        self._last_accepted: dict[str, float] = defaultdict(float)

    # -- lifecycle (any thread) -----------------------------------------------------------------

    def start(self) -> Smsc:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(loop.create_server(
                self._new_conn, self.host, self.port, reuse_address=True))
            self.port = self._server.sockets[0].getsockname()[1]
            self._schedule_drops()
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="smsc-standin", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for conn in list(self._conns):
                conn.close_reader()
                if conn.transport is not None:
                    conn.transport.abort()
            await asyncio.sleep(0)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def __enter__(self) -> Smsc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop and return its result."""
        assert self._loop is not None, "not started"
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(10)

    # -- control (any thread) -----------------------------------------------------------------

    def set(self, **changes: Any) -> Behaviour:
        names = {f.name for f in fields(Behaviour)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown behaviour: {', '.join(sorted(unknown))}")

        _check_policy(changes)
        for policy in (changes.get("per_account") or {}).values():
            stray = sorted(set(policy) - set(POLICY))
            if stray:
                raise ValueError(f"not set per account: {', '.join(stray)}")
            _check_policy(policy)

        def apply() -> Behaviour:
            for key, value in changes.items():
                setattr(self.behaviour, key, value)
            if "seed" in changes:
                self._random.seed(changes["seed"])
            if "drop_every" in changes:
                self._schedule_drops()
            return self.behaviour

        return self.call(apply)

    def set_account(self, account: str, **policy: Any) -> Behaviour:
        """Police one account apart (POLICY's fields); None for a field: back to the default."""
        merged = {**self.behaviour.per_account.get(account, {}), **policy}
        merged = {k: v for k, v in merged.items() if v is not None}
        return self.set(per_account={**self.behaviour.per_account, account: merged})

    def reset(self) -> None:
        """Forget what was received (counts, records); binds stay."""
        self.call(self._reset_state)

    def drop(self, account: str | None = None) -> int:
        """Cut the connections (of one account); returns how many."""
        return self.call(lambda: self._drop(account))

    def send_mo(self, account: str, source: str, destination: str, text: str, *,
                concat: str = "udh") -> int:
        """Queue an MO message for `account` (cut into parts like an SMSC); returns the parts."""
        return self.call(lambda: self._send_mo(account, source, destination, text, concat))

    def flood_mo(self, account: str, messages: list[tuple[str, str, str]]) -> int:
        """Queue many MO messages (source, destination, text) at once; returns the parts."""
        return self.call(lambda: sum(self._send_mo(account, source, destination, text, "udh")
                                     for source, destination, text in messages))

    def answer_survey(self, account: str, mix: dict[str, float], *,
                      of: list[str] | None = None, destination: str = "8088",
                      seed: int = 0) -> dict[str, int]:
        """Answer from the numbers this stand-in accepted submits for (those in `of`, if
        given): each picks a text of `mix` by its weight ("free" is free text, short GSM-7 or
        long UCS-2 and concatenated); what the weights leave is silence. Numbered choices come
        written loosely (" 1.", "1 "), keywords in any case. Returns how many sent each entry
        of the mix."""
        rng = random.Random(seed)
        numbers = sorted(self.call(lambda: list(self.by_destination)))
        if of is not None:
            wanted = {n.lstrip("+") for n in of}
            numbers = [n for n in numbers if n in wanted]
        sent: dict[str, int] = dict.fromkeys(mix, 0)
        burst: list[tuple[str, str, str]] = []
        for n in numbers:
            pick, roll = None, rng.random()
            for text, weight in mix.items():
                roll -= weight
                if roll < 0:
                    pick = text
                    break
            if pick is None:
                continue
            sent[pick] += 1
            if pick == "free":
                text = rng.choice(FREE_ANSWERS)
            elif pick.isdigit():
                text = rng.choice((pick, f" {pick}.", f"{pick} "))
            else:  # a keyword (an opt-out among them) as a person types it
                text = rng.choice((pick, pick.lower(), f" {pick} "))
            burst.append((n, destination, text))
        self.flood_mo(account, burst)
        return sent

    def received(self, destination: str | None = None) -> list[Received]:
        if destination is None:
            return self.call(lambda: list(self.records))
        return self.call(lambda: list(self.by_destination.get(destination, [])))

    def per_second(self, account: str) -> dict[int, int]:
        """submit_sm PDUs received per wall-clock second (all outcomes)."""
        return self.call(lambda: dict(self.seconds.get(account, {})))

    def accepted_per_second(self, account: str) -> dict[int, int]:
        """submit_sm accepted per wall-clock second."""
        return self.call(lambda: dict(self._second_ok.get(account, {})))

    def stats(self) -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            return {**self.counts, "bound": sum(1 for c in self._conns if c.account),
                    "max_outstanding": dict(self.max_outstanding),
                    "backlog": sum(len(v) for v in self._backlog.values()),
                    "behaviour": asdict(self.behaviour)}
        return self.call(collect)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> bool:
        """Poll `stats()` until `predicate(stats)` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.stats()):
                return True
            time.sleep(0.02)
        return predicate(self.stats())

    # -- on the loop -----------------------------------------------------------------------------

    def _new_conn(self) -> _Conn:
        self._conn_numbers += 1
        return _Conn(self, self._conn_numbers)

    def _drop(self, account: str | None) -> int:
        victims = [c for c in self._conns if account is None or c.account == account]
        for conn in victims:
            if conn.transport is not None:
                conn.transport.abort()
        self.counts["drops"] += len(victims)
        return len(victims)

    def _schedule_drops(self) -> None:
        if self._drop_task is not None:
            self._drop_task.cancel()
            self._drop_task = None
        every = self.behaviour.drop_every
        if every and self._loop is not None:
            async def dropper() -> None:
                while True:
                    await asyncio.sleep(every)
                    self._drop(None)
            self._drop_task = self._loop.create_task(dropper())

    def _handle(self, conn: _Conn, item: pdu.Pdu, stamp: float | None = None,
                read_at: float | None = None, shared: bool = False) -> None:
        """One PDU from `conn`; `stamp`: when the kernel received it (None: unknown),
        `read_at`: when it was read, `shared`: its stamp is the previous PDU's too."""
        command = item.command_id
        if command in (pdu.BIND_TRANSCEIVER, pdu.BIND_TRANSMITTER, pdu.BIND_RECEIVER):
            self._bind(conn, item)
        elif command == pdu.SUBMIT_SM:
            if conn.account is None or conn.mode == "receiver":
                conn.write(pdu.encode(command | pdu.RESP, ESME_RINVBNDSTS, item.sequence))
            else:
                read_at = time.time() if read_at is None else read_at
                if stamp is not None:
                    self.counts["stamped_kernel"] += 1
                    if shared:
                        self.counts["stamps_shared"] += 1
                self._submit(conn, item, read_at if stamp is None else stamp, read_at)
        elif command == pdu.DELIVER_SM | pdu.RESP:
            self._delivered(conn, item)
        elif command == pdu.ENQUIRE_LINK:
            self.counts["enquire_links"] += 1
            conn.write(pdu.encode(pdu.ENQUIRE_LINK | pdu.RESP, 0, item.sequence))
        elif command == pdu.UNBIND:
            self.counts["unbinds"] += 1
            conn.write(pdu.encode(pdu.UNBIND | pdu.RESP, 0, item.sequence))
            conn.account = None
            assert self._loop is not None
            self._loop.call_soon(lambda: conn.transport.close() if conn.transport else None)
        elif command & pdu.RESP:
            pass  # enquire_link_resp, generic_nack
        else:
            conn.write(pdu.encode(pdu.GENERIC_NACK, ESME_RINVCMDID, item.sequence))

    def _bind(self, conn: _Conn, item: pdu.Pdu) -> None:
        mode = {pdu.BIND_TRANSCEIVER: "transceiver", pdu.BIND_TRANSMITTER: "transmitter",
                pdu.BIND_RECEIVER: "receiver"}[item.command_id]
        try:
            bind = pdu.Bind.decode_body(item.body)
        except pdu.PduError:
            conn.write(pdu.encode(pdu.GENERIC_NACK, ESME_RINVCMDLEN, item.sequence))
            return
        expected = self.accounts.get(bind.system_id)
        code = (ESME_RINVSYSID if expected is None else
                ESME_RINVPASWD if expected != bind.password else ESME_ROK)
        if code:
            self.counts["bind_refused"] += 1
            # SMPP 3.4 4.1: an error bind_resp carries no body.
            conn.write(pdu.encode(item.command_id | pdu.RESP, code, item.sequence))
            return
        conn.account, conn.mode = bind.system_id, mode
        self.counts["binds"] += 1
        conn.write(pdu.encode(item.command_id | pdu.RESP, 0, item.sequence,
                              pdu.bind_resp_body("standin")))
        if conn.can_receive:
            backlog = self._backlog.pop(bind.system_id, [])
            for delivery in backlog:
                conn.deliver(delivery)

    def _new_id(self) -> tuple[str, str]:
        self._ids += 1
        number = self._ids
        behaviour = self.behaviour

        def render(fmt: str) -> str:
            if fmt == "dec":
                return str(number)
            if fmt == "uuid":
                return str(uuid.UUID(int=number + (0x5EED << 64)))
            return f"{number:08X}"

        return render(behaviour.id_format), render(behaviour.receipt_id_format
                                                   or behaviour.id_format)

    def _submit(self, conn: _Conn, item: pdu.Pdu, now: float, read_at: float) -> None:
        """A submit_sm that arrived at `now` (the policing's clock) and was read at `read_at`."""
        account = conn.account
        assert account is not None and self._loop is not None
        behaviour = self.behaviour
        second = self.seconds[account]
        second[int(now)] += 1
        self.counts["submits"] += 1
        try:
            message = pdu.ShortMessage.decode_body(item.body)
        except pdu.PduError:
            conn.write(pdu.encode(pdu.GENERIC_NACK, ESME_RINVCMDLEN, item.sequence))
            return
        policy = self._policy(account)
        code = ESME_ROK
        window = policy["window"]
        if window is not None and conn.outstanding >= window:
            code = ESME_RMSGQFUL
        elif (not self._allowed(conn, account, policy, now)
              or (policy["throttle_ratio"]
                  and self._random.random() < policy["throttle_ratio"])):
            code = ESME_RTHROTTLED
        else:
            code = behaviour.reject.get(message.destination_addr, ESME_ROK)
        if code == ESME_ROK:
            self._count_accepted(conn, account, now)
        message_id, receipt_id = self._new_id() if code == ESME_ROK else ("", "")
        self.counts["accepted" if code == ESME_ROK else f"refused_{code:#04x}"] += 1
        if code == ESME_ROK:
            sent = (message.destination_addr, message.short_message,
                    message.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD, b""))
            if sent in self._accepted:
                self.counts["repeats"] += 1
            else:
                self._accepted.add(sent)
        if behaviour.record:
            record = Received(account, conn.number, item.sequence, message.destination_addr,
                              message.source_addr, message.source_addr_ton,
                              message.source_addr_npi, message.dest_addr_ton,
                              message.dest_addr_npi, message.esm_class, message.data_coding,
                              message.registered_delivery, message.validity_period,
                              message.short_message, message.tlvs, message_id, code, now,
                              read_at)
            self.records.append(record)
            self.by_destination[message.destination_addr].append(record)
        # SMPP 3.4 4.4.2: an error submit_sm_resp carries no body.
        resp = pdu.encode(pdu.SUBMIT_SM | pdu.RESP, code, item.sequence,
                          pdu.message_id_body(message_id) if code == ESME_ROK else b"")
        if code != ESME_ROK:
            conn.write(resp)
            return
        conn.outstanding += 1
        key = f"{account}/{conn.number}"
        self.max_outstanding[key] = max(self.max_outstanding[key], conn.outstanding)

        def respond() -> None:
            conn.outstanding -= 1
            conn.write(resp)

        wants_receipt = behaviour.receipts and message.registered_delivery & 0x03
        receipt = (lambda: self._receipt(account, message, receipt_id, now)) \
            if wants_receipt else None
        if wants_receipt and behaviour.stray_receipts \
                and self._random.random() < behaviour.stray_receipts:
            # An id taken from the same sequence but never answered to anyone.
            stray_id = self._new_id()[1]
            self.counts["stray_receipts"] += 1
            self._loop.call_later(behaviour.receipt_delay, self._receipt, account, message,
                                  stray_id, now)
        if behaviour.receipt_before_resp and receipt is not None:
            self._loop.call_later(behaviour.receipt_delay, receipt)
            self._loop.call_later(behaviour.receipt_delay + max(behaviour.resp_delay, 0.05),
                                  respond)
            return
        if policy["resp_delay"] > 0:  # pipelined: every response waits, none waits for another
            self._loop.call_later(policy["resp_delay"], respond)
        else:
            respond()
        if receipt is not None:
            if behaviour.receipt_delay > 0:
                self._loop.call_later(behaviour.receipt_delay, receipt)
            else:
                receipt()

    def _policed(self, account: str) -> bool:
        """Whether submits of `account` are counted against an allowance (their arrival then
        matters to the microsecond)."""
        own = self.behaviour.per_account.get(account)
        tps = own["tps"] if own and "tps" in own else self.behaviour.tps
        return tps is not None

    def _policy(self, account: str) -> dict[str, Any]:
        behaviour = self.behaviour
        own = behaviour.per_account.get(account)
        policy = {name: getattr(behaviour, name) for name in POLICY}
        if own:
            policy.update(own)
        return policy

    def _allowed(self, conn: _Conn, account: str, policy: dict[str, Any], now: float) -> bool:
        """Whether a submit arriving `now` is within the account's allowance."""
        tps = policy["tps"]
        if tps is None:
            return True
        mode = policy["policing"]
        if mode == "second":
            return self._second_ok[account][int(now)] < tps
        if mode == "sliding":
            recent = self._last_second[account]
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            return len(recent) < tps
        last = conn.last_accepted if mode == "interval_bind" else self._last_accepted[account]
        return now - last >= 1.0 / tps - policy["tolerance"]

    def _count_accepted(self, conn: _Conn, account: str, now: float) -> None:
        self._second_ok[account][int(now)] += 1
        self._last_second[account].append(now)
        self._last_accepted[account] = conn.last_accepted = now
        if len(self._last_second[account]) > 100_000:  # policing off: keep it bounded
            self._last_second[account].popleft()

    def _outcome(self) -> str:
        outcomes = self.behaviour.outcomes
        if len(outcomes) == 1:
            return next(iter(outcomes))
        return self._random.choices(list(outcomes), weights=list(outcomes.values()))[0]

    def _receipt(self, account: str, message: pdu.ShortMessage, receipt_id: str,
                 submitted: float) -> None:
        state = self._outcome()
        err = "000" if state in ("DELIVRD", "ACCEPTD", "ENROUTE") else "001"
        text = (f"id:{receipt_id} sub:001 dlvrd:{'001' if state == 'DELIVRD' else '000'} "
                f"submit date:{smpp_time(submitted)} done date:{smpp_time(time.time())} "
                f"stat:{state} err:{err} text:")
        tlvs = {}
        if self.behaviour.receipt_tlvs:
            tlvs = {pdu.TLV_RECEIPTED_MESSAGE_ID: pdu.cstring(receipt_id),
                    pdu.TLV_MESSAGE_STATE: bytes((STATE_CODES.get(state, 7),))}
        body = pdu.ShortMessage(
            source_addr=message.destination_addr, source_addr_ton=message.dest_addr_ton,
            source_addr_npi=message.dest_addr_npi, destination_addr=message.source_addr,
            dest_addr_ton=message.source_addr_ton, dest_addr_npi=message.source_addr_npi,
            esm_class=pdu.ESM_CLASS_RECEIPT, short_message=text.encode("ascii"), tlvs=tlvs,
        ).encode_body()
        self._dispatch(_Delivery(account, body, "receipt"))
        if self.behaviour.duplicate_receipts \
                and self._random.random() < self.behaviour.duplicate_receipts:
            self.counts["duplicate_receipts"] += 1
            self._dispatch(_Delivery(account, body, "receipt"))

    def _dispatch(self, delivery: _Delivery) -> None:
        receivers = [c for c in self._conns if c.account == delivery.account and c.can_receive]
        if not receivers:
            self._backlog[delivery.account].append(delivery)
            return
        self._rotation += 1
        receivers[self._rotation % len(receivers)].deliver(delivery)

    def _delivered(self, conn: _Conn, item: pdu.Pdu) -> None:
        delivery = conn.deliveries.pop(item.sequence, None)
        if delivery is None:
            return
        if conn.waiting:
            conn.deliver(conn.waiting.popleft())
        if item.status == ESME_ROK:
            self.counts[f"{delivery.kind}s_acked"] += 1
            return
        self.counts[f"{delivery.kind}s_refused"] += 1
        assert self._loop is not None
        self._loop.call_later(self.behaviour.redeliver_delay, self._dispatch, delivery)

    def _send_mo(self, account: str, source: str, destination: str, text: str,
                 concat: str) -> int:
        parts = sms.split(text)
        payloads = parts.payloads()
        self._ref_nums[source] = (self._ref_nums[source] + 1) & 0xFF
        ref = self._ref_nums[source]
        total = len(payloads)
        for number, payload in enumerate(payloads, start=1):
            message = pdu.ShortMessage(source_addr=source, source_addr_ton=1,
                                       source_addr_npi=1, destination_addr=destination,
                                       data_coding=parts.data_coding, short_message=payload)
            if total > 1 and concat == "udh":
                message.esm_class = pdu.ESM_CLASS_UDHI
                message.short_message = bytes((5, 0, 3, ref, total, number)) + payload
            elif total > 1:
                message.tlvs = {pdu.TLV_SAR_MSG_REF_NUM: struct.pack(">H", ref),
                                pdu.TLV_SAR_TOTAL_SEGMENTS: bytes((total,)),
                                pdu.TLV_SAR_SEGMENT_SEQNUM: bytes((number,))}
            self._dispatch(_Delivery(account, message.encode_body(), "mo"))
        return total
