"""A submit rate shared by every process and bind of one SMPP account, counted in PDUs.

    throttle = RedisThrottle(redis_client, "myapp:throttle:viettel", rate=200)
    throttle.acquire()      # sleeps until this process may write one submit_sm
    throttle.penalise()     # on ESME_RTHROTTLED / ESME_RMSGQFUL: slow down for a few seconds
    throttle.peek()         # ThrottleState: wait, factor and rate now, reserving nothing

The caller names the Redis key (one per account, shared by every process of that account); the
back-off lives beside it at `<key>:penalty`. Redis's clock is the only clock, so hosts with
skewed clocks stay in step.

Two pacings, as SMSCs police in two ways (docs/ENGINE.md, "Pacing"):

- `per_second` (SMSCs counting per second, or over a sliding second): virtual scheduling (GCRA
  without burst). The key holds the time at which the next PDU may go; a Lua script reserves `n`
  slots `1/rate` apart and answers how long to wait. A process reserves several consecutive
  slots at once at high rates (one Redis round trip per PDU cost a fifth of the smpp process's
  CPU) and hands them out locally at the slot's time. The block grows (doubling, up to
  `block_seconds` of the rate) while this process uses whole blocks and shrinks when it leaves
  slots unused. A slot more than `late` seconds in the past is skipped, never used, so a
  one-second window holds at most rate * (1 - margin) * (1 + late) + 1 PDUs.
- `spacing` (SMSCs refusing a submit less than 1/TPS after the previous one, as Jasmin does): one
  PDU of the account at a time holds the turn. A slot is taken only when it has come (or is
  `AHEAD`, 2 ms, away), and the next one is counted from the moment the PDU was *written*
  (`sent(at)`, after the socket took it), not from when its slot was planned or taken: a PDU
  that went late (a busy machine, a long sleep, the interpreter's thread switch between the
  slot and the write) pushes the next one back with it instead of crowding it, so no two writes
  of the account are closer than the interval, across every bind and process. Until `sent`,
  the turn is held (in this process by the thread, in Redis by a lease of `LEASE` seconds, so a
  process that died holding it blocks the others that long at most). Two Redis calls per PDU
  (the turn, the write): spacing is for the modest rates of such links. The interval is
  1/(TPS * (1 - margin)): at the default 2 % margin, 20.4 ms for 50 TPS and 5.1 ms for 200,
  the slack the SMSC's own clock gets (it stamps a submit when its loop reads it). Lateness is
  not made up for: the rate is 1/(interval + mean lateness), the price of never crowding.

The back-off on 0x58/0x14 is additive increase, multiplicative decrease with a floor: each
refusal (repeated refusals within `debounce` seconds count once, since one slow-down answers a
window of them) multiplies the share of the allowance used by `decrease`, never below `floor`;
the share then climbs back by `rise` of the allowance per second. With the defaults a single
refusal costs 10 % for half a second, a long burst of refusals halves the rate at worst and it
is back above 90 % two seconds later: rare refusals (the jitter of a busy network crowding two
spaced submits) never park a link at a fraction of its allowance, and an SMSC that really
allows less sees a refusal about once a second, each answered by resending that PDU.
The session resends the refused PDU itself, so parts keep their order.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Literal, NamedTuple, Protocol

Pacing = Literal["per_second", "spacing"]
PACINGS: tuple[Pacing, ...] = ("per_second", "spacing")


class Throttle(Protocol):
    """What a session needs from a throttle."""

    def acquire(self, n: int = 1) -> float: ...

    def penalise(self) -> None: ...

    def sent(self, at: float | None) -> None:
        """The PDU the last `acquire` let go was written at monotonic time `at` (None: it was
        not written after all)."""


SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local rate = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local decrease = tonumber(ARGV[3])
local floor = tonumber(ARGV[4])
local rise = tonumber(ARGV[5]) / 1000000  -- share of the allowance regained per microsecond
local debounce = tonumber(ARGV[6]) * 1000000
local mode = ARGV[7]  -- '0' reserve, '1' penalise, '2' peek (read only), '3' space, '4' sent
local ahead = tonumber(ARGV[8])  -- space: a slot this close (microseconds) is taken early
local token = ARGV[9]  -- space, sent: who holds the turn
local lease = tonumber(ARGV[10])  -- space: ms the turn is held at most
local ago = tonumber(ARGV[11])  -- sent: microseconds since the write (-1: nothing written)

local factor = 1.0
local cut_at = nil
local stored = redis.call('HMGET', KEYS[2], 'f', 'at')
if stored[1] then
  cut_at = tonumber(stored[2])
  factor = math.min(1.0, tonumber(stored[1]) + rise * (now - cut_at))
end
if mode == '1' then
  if not cut_at or now - cut_at >= debounce then
    factor = math.max(floor, factor * decrease)
    redis.call('HSET', KEYS[2], 'f', tostring(factor), 'at', string.format('%.0f', now))
    redis.call('PEXPIRE', KEYS[2], math.ceil((1.0 - factor) / rise / 1000) + 1000)
  end
  return {tostring(factor), 0, 1}
end

local interval = 1000000 / (rate * factor)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
if mode == '2' then
  return {tostring(factor), math.floor(start - now), 0}
end
if mode == '3' then
  if redis.call('EXISTS', KEYS[3]) == 1 then  -- another process writes: ask again soon
    return {tostring(factor), math.floor(math.min(interval / 4, 1000)), 0}
  end
  if tat - now > ahead then  -- not yet: reserve nothing, say how long
    return {tostring(factor), math.floor(tat - now), 0}
  end
  redis.call('SET', KEYS[3], token, 'PX', lease)
  return {tostring(factor), math.floor(math.max(0, tat - now)), 1}
end
if mode == '4' then
  if redis.call('GET', KEYS[3]) == token then
    redis.call('DEL', KEYS[3])
  end
  if ago < 0 then
    return {tostring(factor), math.floor(math.max(0, tat - now)), 0}
  end
  -- `now` is read after the caller measured `ago`, so now - ago is no earlier than the write.
  local next_free = math.max(tat, now - ago + interval)
  redis.call('SET', KEYS[1], string.format('%.0f', next_free),
             'PX', math.ceil((next_free - now) / 1000) + 1000)
  return {tostring(factor), math.floor(next_free - now), 1}
end
local next_free = start + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', next_free),
           'PX', math.ceil((next_free - now) / 1000) + 1000)
return {tostring(factor), math.floor(start - now), 1}
"""


class ThrottleState(NamedTuple):
    """What the shared throttle of an account says now (for metrics)."""

    wait: float  # seconds a PDU asking now would wait
    factor: float  # share of the allowance used now (1: all; less after 0x58/0x14)
    rate: float  # PDUs per second allowed now


RESERVE, PENALISE, PEEK, SPACE, SENT = "0", "1", "2", "3", "4"  # the script's modes


class Backoff:
    """The back-off's arithmetic in one process (LocalThrottle; the script does the same)."""

    def __init__(self, decrease: float, floor: float, rise: float, debounce: float) -> None:
        self.decrease, self.floor, self.rise, self.debounce = decrease, floor, rise, debounce
        self._factor = 1.0
        self._cut_at: float | None = None

    def factor(self, now: float) -> float:
        if self._cut_at is None:
            return 1.0
        return min(1.0, self._factor + self.rise * (now - self._cut_at))

    def cut(self, now: float) -> None:
        if self._cut_at is None or now - self._cut_at >= self.debounce:
            self._factor = max(self.floor, self.factor(now) * self.decrease)
            self._cut_at = now


class _Block:
    """Slots `interval` seconds apart reserved by one call: the first at local time `start`."""

    __slots__ = ("interval", "size", "skipped", "start", "used")

    def __init__(self, start: float, interval: float, size: int) -> None:
        self.start, self.interval, self.size = start, interval, size
        self.used = self.skipped = 0

    def take(self, now: float, late: float) -> float | None:
        """The time of this process's next slot not older than `late`; None when none is left."""
        index = self.used + self.skipped
        if index < self.size and now - (self.start + index * self.interval) > late:
            fresh = int((now - late - self.start) / self.interval) + 1
            self.skipped += min(self.size, fresh) - index
            index = self.used + self.skipped
        if index >= self.size:
            return None
        self.used += 1
        return self.start + index * self.interval


class RedisThrottle:
    """The shared throttle of one account (thread-safe; one per process is enough)."""

    # Spacing: a slot this close is reserved at once and slept for here, so a PDU is not late
    # by a second round trip to Redis; only the wake-up of so short a sleep can be late.
    AHEAD = 0.002
    LEASE = 0.5  # spacing: s a turn taken and never reported `sent` blocks the account at most

    def __init__(self, client: Any, key: str, rate: float, *, pacing: str = "per_second",
                 margin: float = 0.02, decrease: float = 0.9, floor: float = 0.5,
                 rise: float = 0.2, debounce: float = 1.0, block_seconds: float = 0.02,
                 late: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no throttle for an unlimited account")
        if pacing not in PACINGS:
            raise ValueError(f"pacing is one of {', '.join(PACINGS)}")
        self.rate = rate
        self.key = key
        self.pacing = pacing
        self._effective = rate * (1 - margin)
        self._keys = [key, f"{key}:penalty", f"{key}:turn"]
        self._args = (decrease, floor, rise, debounce)
        self._script = client.register_script(SCRIPT)
        self._block_seconds = block_seconds
        self._late = margin / 2 if late is None else late
        self._lock = threading.Lock()
        self._block: _Block | None = None
        self._size = 1  # slots the next reservation asks for
        self.factor = 1.0  # share of the allowance last seen
        self.reservations = 0  # round trips to Redis (for benchmarks)
        # Spacing: the thread holding this process's turn (until `sent`), since when, and when
        # (monotonic) the next slot is expected, from the last `sent`.
        self._turn = threading.Condition()
        self._holder: int | None = None
        self._held_at = 0.0
        self._next_at = 0.0
        self._token = uuid.uuid4().hex

    def _call(self, n: int, mode: str) -> float:
        return self._ask(n, mode)[0]

    def _ask(self, n: int, mode: str, ago: float = -1.0) -> tuple[float, bool]:
        """(seconds to wait, whether a slot was reserved)."""
        decrease, floor, rise, debounce = self._args
        factor, wait_us, reserved = self._script(keys=self._keys, args=[
            repr(self._effective), n, decrease, floor, rise, debounce, mode,
            int(self.AHEAD * 1e6), self._token, int(self.LEASE * 1000),
            int(ago * 1e6) if ago >= 0 else -1])
        self.factor = float(factor)
        return int(wait_us) / 1e6, bool(reserved)

    def _reserve(self) -> None:
        old = self._block
        if old is not None:
            if old.skipped:  # slots went stale unused: ask for fewer
                self._size = max(1, self._size // 2)
            else:
                self._size *= 2
        self._size = min(self._size, max(1, int(self.current_rate * self._block_seconds)))
        wait = self._call(self._size, RESERVE)
        self.reservations += 1
        # The block starts `wait` after Redis read its clock; counting from after the reply can
        # only make this process later than its slots, never earlier.
        self._block = _Block(time.monotonic() + wait, 1.0 / self.current_rate, self._size)

    def acquire(self, n: int = 1) -> float:
        """Wait until `n` PDUs may be written; returns the seconds waited."""
        if self.pacing == "spacing":
            return self._space(n)
        waited = 0.0
        for _ in range(n):
            with self._lock:
                slot = None
                while slot is None:
                    if self._block is not None:
                        slot = self._block.take(time.monotonic(), self._late)
                    if slot is None:
                        self._reserve()
            wait = slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                waited += wait
        return waited

    def _space(self, n: int) -> float:
        """Take `n` turns; the last is held until `sent` (the ones before count as written when
        the next is taken: a caller writing several PDUs per acquire)."""
        started = time.monotonic()
        for turn in range(n):
            if turn:
                self.sent(time.monotonic())
            self._take_turn()
            try:
                self._wait_slot()
            except BaseException:
                self._release()
                raise
        return time.monotonic() - started

    def _take_turn(self) -> None:
        """Hold this process's turn: wait while another thread holds it (up to LEASE); a turn
        this thread still holds counts as written now (an `acquire` without `sent`)."""
        me = threading.get_ident()
        with self._turn:
            if self._holder == me:
                held = True
            else:
                while self._holder is not None:
                    left = self._held_at + self.LEASE - time.monotonic()
                    if left <= 0:
                        break  # its holder never said: the Redis lease has lapsed too
                    self._turn.wait(left)
                held = False
            self._holder, self._held_at = me, time.monotonic()
        if held:
            self._mark(time.monotonic())

    def _wait_slot(self) -> None:
        """Until Redis hands this process the account's slot (the turn is held locally)."""
        while True:
            early = self._next_at - self.AHEAD - time.monotonic()
            if early > 0:  # the last write said when the next slot comes: no need to ask
                time.sleep(early)
            wait, reserved = self._ask(1, SPACE)
            self.reservations += 1
            if reserved:
                if wait > 0:
                    time.sleep(wait)
                return
            self._next_at = 0.0  # Redis's word is fresher: ask again when it says
            time.sleep(max(self.AHEAD / 4, wait - self.AHEAD / 2))

    def _mark(self, at: float | None) -> None:
        """Tell Redis the PDU went out at `at` (None: it did not); learn when the next may."""
        ago = -1.0 if at is None else max(0.0, time.monotonic() - at)
        wait, _ = self._ask(0, SENT, ago)
        self._next_at = time.monotonic() + wait

    def _release(self) -> None:
        with self._turn:
            if self._holder == threading.get_ident():
                self._holder = None
                self._turn.notify()

    def sent(self, at: float | None) -> None:
        """Spacing: the PDU this thread's `acquire` let go was written at monotonic `at` (None:
        not written); the account's next slot is one interval after it. Nothing otherwise."""
        if self.pacing != "spacing":
            return
        with self._turn:
            if self._holder != threading.get_ident():
                return  # no turn held (a caller reporting twice, or after the lease lapsed)
        try:
            self._mark(at)
        finally:
            self._release()

    def penalise(self) -> None:
        """The SMSC refused for rate (0x58/0x14): slow every process of this account down."""
        with self._lock:
            # The block was spaced for the old rate: drop it (its slots are lost, which errs
            # on the slow side) and start small again.
            self._block, self._size = None, 1
            self._call(0, PENALISE)

    def peek(self) -> ThrottleState:
        """The wait, penalty level and rate of this account now, from Redis, reserving nothing."""
        with self._lock:
            wait = self._call(0, PEEK)
            return ThrottleState(wait, self.factor, self.current_rate)

    @property
    def current_rate(self) -> float:
        return self._effective * self.factor


class LocalThrottle:
    """The same schedule in one process, without Redis (tests, a one-off `smpp test`)."""

    def __init__(self, rate: float, *, margin: float = 0.02, decrease: float = 0.9,
                 floor: float = 0.5, rise: float = 0.2, debounce: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._effective = rate * (1 - margin)
        self._backoff = Backoff(decrease, floor, rise, debounce)
        self._lock = threading.Lock()
        self._next_free = 0.0

    @property
    def factor(self) -> float:
        return self._backoff.factor(time.monotonic())

    def acquire(self, n: int = 1) -> float:
        with self._lock:
            now = time.monotonic()
            start = max(self._next_free, now)
            self._next_free = start + n / (self._effective * self._backoff.factor(now))
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalise(self) -> None:
        with self._lock:
            self._backoff.cut(time.monotonic())

    def sent(self, at: float | None) -> None:
        """Slots are planned only (one process: nothing crowds them but its own writes)."""

    @property
    def current_rate(self) -> float:
        return self._effective * self.factor
