"""The Redis sliding-window limiter, driven with an explicit clock."""

from __future__ import annotations

import pytest
import redis as redis_lib

from dispatch.access import ratelimit
from dispatch.errors import RateLimited
from dispatch.jobs import keys

T0 = 1_700_000_040.0  # a window boundary for 60 s windows


def test_allows_up_to_the_limit_then_refuses(redis):
    got = [ratelimit.hit(redis, "k", limit=5, now=T0 + i) for i in range(6)]
    assert [d.allowed for d in got] == [True] * 5 + [False]
    assert [d.remaining for d in got[:5]] == [4, 3, 2, 1, 0]
    # Full this window; in the next one 5 x weight must drop to 4: 12 s into it.
    assert got[5].retry_after == 60 - 5 + 12


def test_no_double_burst_across_the_boundary(redis):
    for i in range(10):
        assert ratelimit.hit(redis, "k", limit=10, now=T0 + 50 + i * 0.5).allowed
    # Just after the boundary the previous window still weighs almost fully.
    early = ratelimit.hit(redis, "k", limit=10, now=T0 + 61)
    # 10 x (1 - f) + 1 <= 10 once f = 0.1, 6 s into the window: 5 s from now.
    assert not early.allowed and early.retry_after == 5
    # Later in the window its share has slid out and hits pass again.
    allowed = sum(ratelimit.hit(redis, "k", limit=10, now=T0 + 90 + i * 0.01).allowed
                  for i in range(10))
    assert allowed == 5  # 10 x 0.5 from the previous window + 5 new


def test_refused_hits_are_not_counted(redis):
    for i in range(3):
        ratelimit.hit(redis, "k", limit=3, now=T0 + i)
    for i in range(50):
        assert not ratelimit.hit(redis, "k", limit=3, now=T0 + 10 + i * 0.1).allowed
    # 3 x (1 - 0.4) = 1.8 <= 2: the hammering did not push the wait further.
    assert ratelimit.hit(redis, "k", limit=3, now=T0 + 60 + 24).allowed


def test_keys_and_costs_are_separate(redis):
    assert ratelimit.hit(redis, "a", limit=10, cost=10, now=T0).allowed
    assert not ratelimit.hit(redis, "a", limit=10, now=T0).allowed
    assert ratelimit.hit(redis, "b", limit=10, now=T0).allowed
    assert not ratelimit.hit(redis, "c", limit=10, cost=11, now=T0).allowed


def test_counters_expire(redis):
    ratelimit.hit(redis, "k", limit=5, window=60, now=T0)
    ttls = [redis.pttl(k) for k in redis.keys(f"{keys.RATE_LIMIT_PREFIX}k:*")]
    assert ttls and all(0 < t <= 120_000 for t in ttls)


def test_check_raises_rate_limited_with_retry_after(app, redis):
    for _ in range(2):
        ratelimit.check("signin:lan", limit=2, window=900, what="sign-ins")
    with pytest.raises(RateLimited) as refused:
        ratelimit.check("signin:lan", limit=2, window=900, what="sign-ins")
    assert refused.value.retry_after > 0
    assert "at most 2 per 15 minutes" in refused.value.message


def test_unreachable_redis_fails_open_unless_told_not_to(app):
    configured = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app.extensions.pop("loa_redis", None)
    try:
        assert ratelimit.check("k", limit=1).allowed
        assert ratelimit.check("k", limit=1).allowed
        with pytest.raises(redis_lib.exceptions.ConnectionError):
            ratelimit.check("k", limit=1, fail_open=False)
    finally:
        app.config["REDIS_URL"] = configured  # the app is shared by the whole session
        app.extensions.pop("loa_redis", None)
