"""A rate limiter shared by every process through Redis: a sliding window over two counters.

Each key counts hits in fixed windows (`<key>:<window number>`). A hit is judged against the
current window's count plus the previous window's count weighted by how much of it still overlaps
the sliding window, so a client cannot burst twice the limit across a window boundary, at the cost
of two small counters per key (no per-hit entries). Refused hits are not counted: a client that
keeps hammering is refused only until its allowed hits slide out, not forever.

Generic on purpose: `check("appkey:7", limit=600)` for an app key; `hit(..., dry_run=True)` judges
without counting, for limits that count only failures (dispatch.access.signin).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis

from dispatch.errors import RateLimited
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis

log = logging.getLogger(__name__)


# Judge and count in one step, so concurrent web processes cannot both take the last slot.
_SCRIPT = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if prev * weight + cur + cost > limit then
  return {0, cur, prev}
end
if ARGV[5] == '1' then
  return {1, cur, prev}
end
cur = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, cur, prev}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until a hit of the same cost would pass; 0 when allowed


def hit(conn: redis.Redis, key: str, *, limit: int, window: float = 60.0, cost: int = 1,
        now: float | None = None, dry_run: bool = False) -> Decision:
    """Count one hit of `cost` against `key` if it fits `limit` per `window` seconds.

    With `dry_run`, only say whether it would fit.
    """
    if limit <= 0 or cost > limit:
        return Decision(False, limit, 0, math.ceil(window))
    now = time.time() if now is None else now
    number = int(now // window)
    elapsed = now - number * window
    weight = 1.0 - elapsed / window
    allowed, cur, prev = conn.eval(
        _SCRIPT, 2, keys.rate_limit(key, number), keys.rate_limit(key, number - 1),
        limit, repr(weight), cost, int(window * 2000), "1" if dry_run else "0",
    )
    used = prev * weight + cur
    if allowed:
        return Decision(True, limit, max(0, math.floor(limit - used)), 0)
    return Decision(False, limit, 0, _retry_after(cur, prev, limit, cost, window, elapsed))


def _retry_after(cur: int, prev: int, limit: int, cost: int, window: float,
                 elapsed: float) -> int:
    """Seconds until `prev`'s share has slid out far enough for `cost` more to fit."""
    if cur + cost <= limit:
        # Fits within this window once the previous window's weight has dropped enough.
        fraction = 1.0 - (limit - cur - cost) / prev
        wait = fraction * window - elapsed
    else:
        # This window is full; in the next one this window's count is the weighted one.
        fraction = 1.0 - (limit - cost) / cur
        wait = (window - elapsed) + fraction * window
    return max(1, math.ceil(wait))


def check(key: str, *, limit: int, window: float = 60.0, cost: int = 1, fail_open: bool = True,
          what: str = "requests") -> Decision:
    """Count a hit on the app's Redis or raise `RateLimited` with the seconds to wait.

    With `fail_open`, an unreachable Redis lets the hit through (logged): limiting protects the
    service, it should not take it down. Pass `fail_open=False` where a limit guards a secret.
    """
    try:
        decision = hit(get_redis(), key, limit=limit, window=window, cost=cost)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        if not fail_open:
            raise
        log.warning("rate limiter unavailable (Redis unreachable); letting %s through", key)
        return Decision(True, limit, limit, 0)
    if not decision.allowed:
        raise RateLimited(
            f"Too many {what}: at most {limit} per {_span(window)}; retry in "
            f"{decision.retry_after} s.",
            retry_after=decision.retry_after,
        )
    return decision


def _span(window: float) -> str:
    if window == 60:
        return "minute"
    if window % 60 == 0:
        return f"{int(window // 60)} minutes"
    return f"{window:g} seconds"
