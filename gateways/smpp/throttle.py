"""A submit rate shared by every process and bind of one SMPP account, counted in PDUs.

    throttle = RedisThrottle(redis_client, "myapp:throttle:viettel", rate=200)
    throttle.acquire()      # sleeps until this process may write one submit_sm
    throttle.penalise()     # on ESME_RTHROTTLED / ESME_RMSGQFUL: halve the rate for a while
    throttle.peek()         # ThrottleState: wait, level and rate now, reserving nothing

The caller names the Redis key (one per account, shared by every process of that account); the
penalty lives beside it at `<key>:penalty`.

Virtual scheduling (GCRA without burst): one Redis key per account holds the time at which the
next PDU may go; a Lua script reads Redis's clock, reserves `n` slots `1/rate` apart and answers
how long to wait. Slots are evenly spaced and handed out in arrival order whatever the number of
processes, so no one-second window at the SMSC sees more than the rate (less `margin`, kept for
network jitter). Using Redis's clock keeps hosts with skewed clocks in step.

`penalise` raises a shared penalty level (the rate is divided by 2**level, at most `max_level`);
repeated refusals within `debounce` seconds count once, since one slow-down answers a whole window
of refusals. The level falls by one every `recovery` seconds after the last rise, so the rate
climbs back in steps. The session resends the refused PDU itself, so parts keep their order.

Slots are reserved in blocks. One Redis round trip per PDU cost a fifth of the smpp process's CPU
at high rates, so a process reserves several consecutive slots at once and hands them out
locally, one per PDU, at the slot's time. The block grows (doubling, up to `block_seconds` of the
rate) while this process uses whole blocks and shrinks when it leaves slots unused, so a slow
or idle process holds few. A slot more than `late` seconds in the past is skipped, never used:
PDUs written late on old slots would crowd the slots other processes hold now. So every PDU
goes out within `late` of its slot, and a one-second window at the SMSC holds at most
rate * (1 - margin) * (1 + late) + 1 PDUs; `late` defaults to half the margin, which keeps that
under the rate. A new block is reserved only when the last one is used up or stale, so nothing
reserved is left in the future then; a block dropped by `penalise` is simply lost (slower, never
faster). At a low rate a block is one slot: one call per PDU, as without blocks.
"""

from __future__ import annotations

import threading
import time
from typing import Any, NamedTuple, Protocol


class Throttle(Protocol):
    """What a session needs from a throttle."""

    def acquire(self, n: int = 1) -> float: ...

    def penalise(self) -> None: ...


SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local rate = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3]) * 1000000
local max_level = tonumber(ARGV[4])
local debounce = tonumber(ARGV[5]) * 1000000
local mode = ARGV[6]  -- '0' reserve, '1' penalise, '2' peek (read only)
local penalise = mode == '1'

local level = 0
local raised_at = 0
local stored = redis.call('HMGET', KEYS[2], 'level', 'at')
if stored[1] then
  raised_at = tonumber(stored[2])
  level = math.max(0, tonumber(stored[1]) - math.floor((now - raised_at) / recovery))
end
if penalise then
  if not stored[1] or now - raised_at >= debounce then
    level = math.min(max_level, level + 1)
    redis.call('HSET', KEYS[2], 'level', level, 'at', string.format('%.0f', now))
    redis.call('PEXPIRE', KEYS[2], math.ceil(recovery * (level + 1) / 1000))
  end
  return {level, 0}
end

local interval = 1000000 / (rate / 2 ^ level)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
if mode == '2' then
  return {level, math.floor(start - now)}
end
local next_free = start + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', next_free),
           'PX', math.ceil((next_free - now) / 1000) + 1000)
return {level, math.floor(start - now)}
"""


class ThrottleState(NamedTuple):
    """What the shared throttle of an account says now (for metrics)."""

    wait: float  # seconds a PDU asking now would wait
    level: int  # penalty level: the rate is divided by 2**level
    rate: float  # PDUs per second allowed now


RESERVE, PENALISE, PEEK = "0", "1", "2"  # the script's modes


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

    def __init__(self, client: Any, key: str, rate: float, *, margin: float = 0.02,
                 recovery: float = 10.0, max_level: int = 4, debounce: float = 1.0,
                 block_seconds: float = 0.02, late: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no throttle for an unlimited account")
        self.rate = rate
        self.key = key
        self._effective = rate * (1 - margin)
        self._keys = [key, f"{key}:penalty"]
        self._args = (recovery, max_level, debounce)
        self._script = client.register_script(SCRIPT)
        self._block_seconds = block_seconds
        self._late = margin / 2 if late is None else late
        self._lock = threading.Lock()
        self._block: _Block | None = None
        self._size = 1  # slots the next reservation asks for
        self.level = 0  # penalty level last seen
        self.reservations = 0  # round trips to Redis (for benchmarks)

    def _call(self, n: int, mode: str) -> float:
        recovery, max_level, debounce = self._args
        level, wait_us = self._script(keys=self._keys, args=[
            repr(self._effective), n, recovery, max_level, debounce, mode])
        self.level = int(level)
        return int(wait_us) / 1e6

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
            return ThrottleState(wait, self.level, self.current_rate)

    @property
    def current_rate(self) -> float:
        return self._effective / 2 ** self.level


class LocalThrottle:
    """The same schedule in one process, without Redis (tests, a one-off `smpp test`)."""

    def __init__(self, rate: float, *, margin: float = 0.02, recovery: float = 10.0,
                 max_level: int = 4, debounce: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._effective = rate * (1 - margin)
        self._recovery, self._max_level, self._debounce = recovery, max_level, debounce
        self._lock = threading.Lock()
        self._next_free = 0.0
        self._level, self._raised_at = 0, 0.0

    @property
    def level(self) -> int:
        if not self._level:
            return 0
        steps = int((time.monotonic() - self._raised_at) / self._recovery)
        return max(0, self._level - steps)

    def acquire(self, n: int = 1) -> float:
        with self._lock:
            now = time.monotonic()
            start = max(self._next_free, now)
            self._next_free = start + n / (self._effective / 2 ** self.level)
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalise(self) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._level or now - self._raised_at >= self._debounce:
                self._level = min(self._max_level, self.level + 1)
                self._raised_at = now

    @property
    def current_rate(self) -> float:
        return self._effective / 2 ** self.level
