"""A submit rate shared by every process and bind of one SMPP account, counted in PDUs.

    throttle = RedisThrottle(redis_client, "viettel", rate=200)
    throttle.acquire()      # sleeps until this process may write one submit_sm
    throttle.penalise()     # on ESME_RTHROTTLED / ESME_RMSGQFUL: halve the rate for a while

Virtual scheduling (GCRA without burst): one Redis key per account holds the time at which the
next PDU may go; a Lua script reads Redis's clock, reserves `n` slots `1/rate` apart and answers
how long to wait. Slots are evenly spaced and handed out in arrival order whatever the number of
processes, so no one-second window at the SMSC sees more than the rate (less `margin`, kept for
network jitter). Using Redis's clock keeps hosts with skewed clocks in step.

`penalise` raises a shared penalty level (the rate is divided by 2**level, at most `max_level`);
repeated refusals within `debounce` seconds count once, since one slow-down answers a whole window
of refusals. The level falls by one every `recovery` seconds after the last rise, so the rate
climbs back in steps. The session resends the refused PDU itself, so parts keep their order.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


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
local penalise = ARGV[6] == '1'

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
local next_free = start + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', next_free),
           'PX', math.ceil((next_free - now) / 1000) + 1000)
return {level, math.floor(start - now)}
"""


class RedisThrottle:
    """The shared throttle of one account (thread-safe; one per process is enough)."""

    def __init__(self, client: Any, account: str, rate: float, *, margin: float = 0.02,
                 recovery: float = 10.0, max_level: int = 4, debounce: float = 1.0,
                 prefix: str = "loa:smpp:throttle") -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no throttle for an unlimited account")
        self.rate = rate
        self.account = account
        self._effective = rate * (1 - margin)
        self._keys = [f"{prefix}:{account}", f"{prefix}:{account}:penalty"]
        self._args = (recovery, max_level, debounce)
        self._script = client.register_script(SCRIPT)
        self.level = 0  # penalty level last seen

    def _call(self, n: int, penalise: bool) -> tuple[int, float]:
        recovery, max_level, debounce = self._args
        level, wait_us = self._script(keys=self._keys, args=[
            repr(self._effective), n, recovery, max_level, debounce, "1" if penalise else "0"])
        self.level = int(level)
        return self.level, int(wait_us) / 1e6

    def acquire(self, n: int = 1) -> float:
        """Wait until `n` PDUs may be written; returns the seconds waited."""
        _, wait = self._call(n, False)
        if wait > 0:
            time.sleep(wait)
        return wait

    def penalise(self) -> None:
        """The SMSC refused for rate (0x58/0x14): slow every process of this account down."""
        self._call(0, True)

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
