"""One SMPP account's live link: its binds, their shared throttle, its outcome recorder and
receipt writer.

The smpp process keeps one `AccountLink` per enabled account; the account's runner
(`dispatch.sms.send`) submits on its sessions. A link is built from
the account row once; any change to the account makes the process build a new one
(`fingerprint`).

Message ids: the account's `id_format` says how this SMSC writes them, so submit_sm_resp and
receipt ids normalise to the same string:
- `auto` / `str`: compared as written (the same id in both places, the usual case);
- `hex`: hexadecimal in submit_sm_resp and decimal in receipts (the classic mismatch);
- `dec`: decimal in both (leading zeros do not matter).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask

from dispatch.jobs import keys
from dispatch.models import SmppAccount
from dispatch.sms.recorder import OutcomeRecorder, Resolved
from dispatch.sms.writer import ReceiptWriter, Wakeable
from gateways.smpp import (
    BindMode,
    IdFormat,
    OutboundSms,
    RedisThrottle,
    Session,
    SessionConfig,
    SessionStatus,
    SubmitHandle,
)

log = logging.getLogger(__name__)

ID_FORMATS: dict[str, tuple[IdFormat, IdFormat | None]] = {
    "auto": ("raw", None),
    "str": ("raw", None),
    "hex": ("hex", "dec"),
    "dec": ("dec", None),
}
_FINGERPRINT = ("name", "host", "port", "system_id", "password_encrypted", "system_type",
                "bind_mode", "binds", "tps", "window", "pacing", "source_ton", "source_npi",
                "validity_minutes", "id_format", "concat")


def fingerprint(account: SmppAccount) -> tuple[Any, ...]:
    """What the live link was built from: a different value means rebuild it."""
    return tuple(getattr(account, name) for name in _FINGERPRINT)


def session_config(account: SmppAccount, password: str, bind_mode: BindMode,
                   **timers: Any) -> SessionConfig:
    """The SessionConfig of one bind of `account` (timers overridable, e.g. by tests)."""
    resp_ids, receipt_ids = ID_FORMATS.get(account.id_format, ("raw", None))
    concat: Any = account.concat if account.concat in ("udh", "sar", "payload") else "udh"
    return SessionConfig(
        host=account.host, port=account.port, system_id=account.system_id, password=password,
        system_type=account.system_type or "", bind_mode=bind_mode, window=account.window,
        source_ton=account.source_ton, source_npi=account.source_npi,
        validity=timedelta(minutes=account.validity_minutes), concat=concat,
        id_format=resp_ids, receipt_id_format=receipt_ids,
        # Each MO part is stored before it is answered (dispatch.sms.inbound), never kept
        # only in this process's memory.
        mo_reassembly="owner", **timers)


def claim_size(capacity: int, tps: int, *, throttled: bool) -> int:
    """Rows an account's runner claims at a time: a claim and its commit cost about the same
    whatever their size (26 ms for 100 rows, 60 ms for 500, measured), so it takes 50 ms of the
    TPS, at least two windows' worth (`capacity`: every sending bind's window), at most 500;
    throttled, at most half a second of the TPS, so claimed rows do not wait long in the
    process at low rates. The rows go to the sessions a window at a time
    (`AccountLink.hold`), so the size does not delay a stop; two chunks at most are `sending`
    at once, what a kill -9 can leave `unknown`."""
    size = max(2 * capacity, tps // 20)
    if throttled:
        size = min(size, max(1, tps // 2))
    return max(1, min(size, 500))


class AccountLink:
    """The sessions of one account in this process (see the module docstring)."""

    def __init__(self, app: Flask, account: SmppAccount, password: str, *,
                 redis_client: Any = None, throttle: bool = True,
                 timers: dict[str, Any] | None = None,
                 attributor: Wakeable | None = None) -> None:
        self.account_id = account.id
        self.name = account.name
        self.fingerprint = fingerprint(account)
        self.window = account.window
        self.tps = account.tps
        self.source_ton = account.source_ton
        self.source_npi = account.source_npi
        self.validity = timedelta(minutes=account.validity_minutes)
        self.throttled = throttle and redis_client is not None
        # Set when the process stops this link: the runner stops claiming rows.
        self.stopping = threading.Event()
        self.recorder = OutcomeRecorder(app, self)
        self.writer = ReceiptWriter(app, account.id, outcomes=self.recorder,
                                    attributor=attributor)
        # Rows submitted (or refused) whose outcome is not recorded yet: what bounds the rows
        # `sending` at once. The runner waits on `progress` for it to fall.
        self.unrecorded = 0
        # Of those, the rows handed whose outcome has not come (what the sessions hold), and
        # the refusals that came and are not recorded yet (an auto-pause may follow them).
        self.in_sessions = 0
        self.failing = 0
        self.progress = threading.Condition()
        self.throttle = (RedisThrottle(redis_client, keys.smpp_throttle(account.id),
                                      rate=account.tps, pacing=account.pacing)
                         if self.throttled else None)
        timers = timers or {}
        modes: list[tuple[BindMode, str]] = (
            [("transceiver", "")] if account.bind_mode == "trx"
            else [("transmitter", "tx"), ("receiver", "rx")])
        self.sessions: list[Session] = []
        for number in range(1, max(1, account.binds) + 1):
            for mode, tag in modes:
                self.sessions.append(Session(
                    session_config(account, password, mode, **timers),
                    name=f"{account.name}-{tag}{number}",
                    on_deliver_later=self.writer.on_deliver_later, throttle=self.throttle))
        self.senders = [s for s in self.sessions if s.config.bind_mode != "receiver"]
        self._turn = itertools.count()

    def start(self) -> AccountLink:
        self.writer.start()
        self.recorder.start()
        for session in self.sessions:
            session.start()
        return self

    @property
    def capacity(self) -> int:
        """Submits this link can have unanswered at once (every sending bind's window)."""
        return self.window * len(self.senders)

    def claim_size(self) -> int:
        """Rows the runner claims at a time (`claim_size` below)."""
        return claim_size(self.capacity, self.tps, throttled=self.throttle is not None)

    @property
    def hold(self) -> int:
        """Rows the sessions may hold at once (handed, no outcome yet): two windows' worth, one
        on the wire and one queued behind it; what is sent after a stop is seen."""
        return 2 * self.capacity

    def problem(self) -> str | None:
        """None when a sending bind is up; else the state that stops sending (e.g. auth_failed)."""
        states = [s.state for s in self.senders]
        if "bound" in states:
            return None
        if states and all(state == "auth_failed" for state in states):
            return "auth_failed"
        return "unbound"

    def wait_ready(self, timeout: float) -> str | None:
        """Wait up to `timeout` seconds for a sending bind; returns `problem()`."""
        deadline = time.monotonic() + timeout
        while True:
            problem = self.problem()
            if problem is None or problem == "auth_failed" or time.monotonic() >= deadline:
                return problem
            time.sleep(0.02)

    def submit(self, message: OutboundSms, on_done: Any = None,
               timeout: float | None = 30.0) -> SubmitHandle:
        """Submit on the next bound sending session (round robin); queued when none is bound."""
        count = len(self.senders)
        start = next(self._turn)
        chosen = self.senders[start % count]
        for offset in range(count):
            session = self.senders[(start + offset) % count]
            if session.state == "bound":
                chosen = session
                break
        return chosen.submit(message, timeout=timeout, on_done=on_done)

    def handed(self, count: int = 1) -> None:
        """The runner handed `count` rows to the sessions (or refused them)."""
        with self.progress:
            self.unrecorded += count
            self.in_sessions += count

    def resolved(self, item: Resolved) -> None:
        """A submit's outcome (any thread): queued for recording."""
        with self.progress:
            self.in_sessions -= 1
            if not item.outcome.ok:
                self.failing += 1  # before the recorder can count it recorded
            # Only the wait for room (`wait_hold`) can end on an outcome: the runner waits
            # there for a window's worth of them, and waking it for each one was a wake-up
            # per message for nothing.
            if self.in_sessions <= self.hold - self.capacity:
                self.progress.notify_all()
        self.recorder.put(item)

    def recorded(self, batch: list[Resolved]) -> None:
        """The recorder committed (or gave up on) these outcomes."""
        with self.progress:
            self.unrecorded -= len(batch)
            self.failing -= sum(1 for item in batch if not item.outcome.ok)
            self.progress.notify_all()

    def wait_below(self, limit: int, timeout: float) -> bool:
        """Wait until at most `limit` rows are unrecorded; False on timeout or when stopping."""
        return self._wait(lambda: self.unrecorded <= limit, timeout, hurry=True)

    def wait_failures_recorded(self, timeout: float) -> bool:
        """Wait until every refusal that came is recorded (the recorder may have paused the
        campaign for it: the runner reads the stop flags afresh then)."""
        return self._wait(lambda: self.failing <= 0, timeout, hurry=True)

    def wait_hold(self, timeout: float) -> bool:
        """Wait until the sessions hold at most `hold - capacity` rows: room for a window."""
        limit = self.hold - self.capacity
        return self._wait(lambda: self.in_sessions <= limit, timeout)

    def _wait(self, done: Any, timeout: float, *, hurry: bool = False) -> bool:
        deadline = time.monotonic() + timeout
        with self.progress:
            if hurry and not done():
                self.recorder.hurry()  # the recorder need not wait out its time bound
            while not done():
                left = deadline - time.monotonic()
                if left <= 0 or self.stopping.is_set():
                    return False
                self.progress.wait(min(left, 0.5))
        return True

    def statuses(self) -> list[SessionStatus]:
        return [session.status() for session in self.sessions]

    def close(self, timeout: float | None = None) -> None:
        """Drain every window, unbind, then store what the writer still holds."""
        self.stopping.set()
        with self.progress:
            self.progress.notify_all()
        # No wait for the recorder here: each session's close() drains what was handed to it,
        # the part its sender holds for the throttle included, and resolves whatever the drain
        # time leaves unsent, so every handed row reaches the recorder, stopped last.
        closers = [threading.Thread(target=s.close, args=(timeout,), daemon=True)
                   for s in self.sessions]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        self.recorder.stop()  # every submit is resolved once the sessions are closed
        self.writer.stop()

