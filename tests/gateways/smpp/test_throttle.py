"""The throttle shared through a real Redis (the `redis` fixture), alone and under sessions."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from gateways.smpp import LocalThrottle, OutboundSms, RedisThrottle, Session
from gateways.smpp.throttle import _Block
from scripts.harness import busiest_second, wait_for
from scripts.smsc import Smsc


class Holders:
    """Each throttle acquires `each` times in a thread of its own (a process, as far as the
    throttle can tell). Recorded: the local times of the slots the throttles handed out (what
    a session writes at; a loaded machine may wake the holder later, which is the machine's
    delay, not the throttle's schedule), how long each reservation's round trip to Redis took
    (a block starts when its answer is read: a late read can shift it by at most that much),
    and the seconds it all took."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, throttles: list[RedisThrottle]) -> None:
        self.throttles = throttles
        self.slots: list[float] = []
        self.trips: list[float] = []
        lock = threading.Lock()
        take = _Block.take

        def recording_take(block: _Block, now: float, late: float) -> float | None:
            slot = take(block, now, late)
            if slot is not None:
                with lock:
                    self.slots.append(slot)
            return slot

        monkeypatch.setattr(_Block, "take", recording_take)
        for throttle in throttles:
            ask = throttle._ask

            def timed_ask(n: int, mode: str, ask: Callable[..., Any] = ask) -> Any:
                started = time.monotonic()
                try:
                    return ask(n, mode)
                finally:
                    with lock:
                        self.trips.append(time.monotonic() - started)

            monkeypatch.setattr(throttle, "_ask", timed_ask)

    def run(self, each: int) -> float:
        def work(throttle: RedisThrottle) -> None:
            for _ in range(each):
                throttle.acquire()

        threads = [threading.Thread(target=work, args=(t,)) for t in self.throttles]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def most_in_a_second(self, rate: float, margin: float) -> float:
        """What the throttle promises for any one-second window of its slots: rate less the
        margin, plus the stale slots it may still hand out (`late`, half the margin) and one
        for a window closed at both ends, plus what the slowest answer from Redis could shift
        a block by (nothing on a quiet machine)."""
        effective = rate * (1 - margin)
        return effective * (1 + margin / 2) + 1 + effective * max(self.trips)


def test_three_holders_share_one_rate(redis: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Three throttles on one key stand for three processes: Redis is the only thing shared.
    throttles = [RedisThrottle(redis, "acct", rate=100, margin=0.02) for _ in range(3)]
    holders = Holders(monkeypatch, throttles)
    elapsed = holders.run(50)
    assert len(holders.slots) == 150
    assert busiest_second(holders.slots) <= holders.most_in_a_second(100, 0.02), holders.trips
    assert elapsed >= 1.45  # 150 at 100/s


def test_backoff_cuts_for_everyone_debounces_floors_and_climbs_back(redis: Any) -> None:
    # The factor climbs back by `rise` a second from each cut: each check below bounds it by
    # the time measured around the calls (Redis's clock runs at the same pace), so a loaded
    # machine that is slow between two calls moves the bounds with it.
    def made() -> RedisThrottle:
        return RedisThrottle(redis, "acct", rate=100, decrease=0.6, debounce=0.2, rise=0.5)

    first, second = made(), made()
    cut = time.monotonic()
    first.penalise()
    first.penalise()  # within debounce: one refusal burst counts once (twice: the floor)
    second.acquire()
    assert 0.6 <= second.factor <= 0.6 + 0.5 * (time.monotonic() - cut)  # for everyone
    assert second.current_rate == first.rate * 0.98 * second.factor
    for _ in range(6):  # a burst of refusals over more than a second
        time.sleep(0.21)
        cut = time.monotonic()
        second.penalise()
        cut_done = time.monotonic()
    first.acquire()
    assert 0.5 <= first.factor <= 0.5 + 0.5 * (time.monotonic() - cut)  # never below the floor
    time.sleep(0.5)
    asked = time.monotonic()
    first.acquire()
    # Climbing back by `rise` of the allowance a second.
    assert 0.5 + 0.5 * (asked - cut_done) <= first.factor <= 0.5 + 0.5 * (
        time.monotonic() - cut), first.factor
    time.sleep(max(0.0, cut_done + 1.05 - time.monotonic()))  # a second from the floor
    first.acquire()
    assert first.factor == 1.0
    assert RedisThrottle(redis, "other", rate=100).current_rate == 98  # per account


def test_peek_reads_wait_factor_and_rate_without_reserving(redis: Any) -> None:
    # The key is the caller's: nothing of Loa's naming is in the throttle.
    throttle = RedisThrottle(redis, "test:throttle:peek", rate=5, block_seconds=0)
    idle = throttle.peek()
    assert idle.wait == 0 and idle.factor == 1.0 and idle.rate == 4.9
    assert not redis.exists("test:throttle:peek")  # a peek reserves nothing
    for _ in range(3):
        throttle.acquire()  # the third slot is taken: the next is ~1/4.9 s away
    ahead = throttle.peek()
    assert 0 < ahead.wait <= 0.21 and ahead.factor == 1.0
    assert throttle.peek().wait <= ahead.wait  # peeking again did not push the next slot back
    cut = time.monotonic()
    throttle.penalise()
    other = RedisThrottle(redis, "test:throttle:peek", rate=5)  # another process, same key
    state = other.peek()
    # A tenth off, and back by a fifth of the allowance a second since the cut.
    assert 0.9 <= state.factor <= 0.9 + 0.2 * (time.monotonic() - cut), state
    assert state.rate == pytest.approx(4.9 * state.factor)
    assert redis.exists("test:throttle:peek:penalty")
    assert RedisThrottle(redis, "test:throttle:other", rate=10).peek().factor == 1.0


def test_spacing_counts_from_the_write_so_a_late_write_never_crowds_the_next(redis: Any) -> None:
    # Three holders (three processes) on one spaced account. Each is late to write after its
    # slot by a random few ms (a busy machine, the interpreter's thread switch), the case
    # that used to crowd: a PDU written late and the next one on time. The next slot is
    # counted from the write the holder reports, so the writes are the interval apart.
    import random
    throttles = [RedisThrottle(redis, "spaced", rate=100, pacing="spacing", margin=0.0)
                 for _ in range(3)]
    writes: list[float] = []
    lock = threading.Lock()

    def work(throttle: RedisThrottle, seed: int) -> None:
        chance = random.Random(seed)
        for _ in range(25):
            throttle.acquire()
            time.sleep(chance.random() * 0.006)  # from the slot to the write
            with lock:
                written = time.monotonic()
                writes.append(written)
            throttle.sent(written)
            time.sleep(chance.random() * 0.02)

    threads = [threading.Thread(target=work, args=(t, n)) for n, t in enumerate(throttles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gaps = [b - a for a, b in itertools.pairwise(writes)]
    assert len(writes) == 75
    assert min(gaps) >= 0.010  # 1/100 s, between writes of different holders too
    assert sum(gaps) / len(gaps) < 0.020  # and not much more, though every holder dawdles


def test_spacing_a_turn_not_written_is_given_back_and_a_lapsed_turn_frees_the_account(
        redis: Any) -> None:
    first = RedisThrottle(redis, "turns", rate=100, pacing="spacing", margin=0.0)
    second = RedisThrottle(redis, "turns", rate=100, pacing="spacing", margin=0.0)
    first.acquire()
    first.sent(None)  # not written (the link fell): the slot is free again at once
    started = time.monotonic()
    second.acquire()
    assert time.monotonic() - started < 0.008
    second.sent(time.monotonic())
    first.TENURE = second.TENURE = 0.1
    first.SLACK = second.SLACK = 0.1
    first.acquire()  # and never says: its process died (kill -9) holding a tenure
    died = time.monotonic()
    second.acquire()
    # The lease (tenure + slack + two intervals) lapsed, and the account goes on: the dead
    # holder wrote nothing after its tenure, so the next write is far from its last.
    assert 0.2 <= time.monotonic() - died < 1.0
    second.sent(time.monotonic())


def test_spacing_paces_locally_within_a_tenure(redis: Any) -> None:
    # One process alone: a round trip to Redis per tenure, not per PDU, and the writes an
    # interval apart (the slot is counted from each write on this host's clock).
    throttle = RedisThrottle(redis, "alone", rate=200, pacing="spacing", margin=0.0)
    stamps = []
    for _ in range(100):
        throttle.acquire()
        stamps.append(time.monotonic())
        throttle.sent(stamps[-1], more=True)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.005
    assert throttle.reservations <= 100 * 0.005 / throttle.TENURE + 3, throttle.reservations


def test_local_throttle_spaces_acquires() -> None:
    throttle = LocalThrottle(200, margin=0.0)
    started = time.monotonic()
    for _ in range(41):
        throttle.acquire()
    assert time.monotonic() - started >= 0.19
    throttle.penalise()
    assert 179 < throttle.current_rate < 181


def test_two_binds_sharing_the_throttle_stay_under_the_smsc_limit(
        redis: Any, smsc: Smsc, make_session: Callable[..., Session]) -> None:
    smsc.set(tps=50)  # the stand-in answers 0x58 above 50 per second for the account
    sessions = [make_session(window=10, throttle=RedisThrottle(redis, "loa", rate=50))
                for _ in range(2)]
    handles = [session.submit(OutboundSms(f"{n}-{i}", f"849{i:08d}", "Hi"))
               for i in range(60) for n, session in enumerate(sessions)]
    outcomes = [handle.wait(10) for handle in handles]
    assert all(o is not None and o.ok for o in outcomes)
    stats = smsc.stats()
    assert stats["accepted"] == 120 and stats.get("refused_0x58", 0) == 0
    assert max(smsc.per_second("loa").values()) <= 50


def test_blocks_at_a_high_rate_hold_the_rate_with_few_round_trips(
        redis: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # At 2,000/s a holder reserves slots in blocks: three holders (three processes) still
    # never put more than the rate in any second, and ask Redis far less than once per PDU.
    throttles = [RedisThrottle(redis, "fast", rate=2000) for _ in range(3)]
    holders = Holders(monkeypatch, throttles)
    elapsed = holders.run(1500)
    assert len(holders.slots) == 4500
    assert busiest_second(holders.slots) <= holders.most_in_a_second(2000, 0.02), \
        max(holders.trips)
    assert elapsed >= 4500 / 2000 * 0.98
    assert sum(t.reservations for t in throttles) < 4500 / 4


def test_a_stale_block_is_skipped_not_burst(redis: Any) -> None:
    # A holder whose block went stale (its process was busy elsewhere) does not write a burst
    # on the old slots: it skips them and reserves afresh, from now.
    throttle = RedisThrottle(redis, "acct", rate=1000, block_seconds=0.05)
    for _ in range(200):  # busy enough for its blocks to grow
        throttle.acquire()
    block = throttle._block
    assert block is not None and block.size > 1
    time.sleep(0.1)  # every slot left in that block is now stale
    reservations = throttle.reservations
    throttle.acquire()
    assert throttle.reservations == reservations + 1
    assert block.skipped == block.size - block.used  # the rest was skipped, not handed out


def test_spacing_tenures_hand_over_between_processes_never_closer_than_the_interval(
        redis: Any) -> None:
    # Two processes (two binds) of one account, each with PDUs to write at once all the time:
    # the one holding the tenure paces its slots from its own writes, the other asks, says it
    # wants the turn, and gets it at the holder's next renewal. Read back the write times:
    # never closer than the interval, across every handoff too.
    throttles = [RedisThrottle(redis, "tenured", rate=200, pacing="spacing", margin=0.0)
                 for _ in range(2)]
    for throttle in throttles:
        throttle.TENURE = 0.04  # several handoffs in a short test
    writes: list[tuple[float, int]] = []
    lock = threading.Lock()

    def work(throttle: RedisThrottle, who: int) -> None:
        for left in range(60, 0, -1):
            throttle.acquire()
            with lock:
                written = time.monotonic()
                writes.append((written, who))
            throttle.sent(written, more=left > 1)

    threads = [threading.Thread(target=work, args=(t, n)) for n, t in enumerate(throttles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writes.sort()
    assert len(writes) == 120
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(writes)]
    handoffs = [b[0] - a[0] for a, b in itertools.pairwise(writes) if a[1] != b[1]]
    assert min(gaps) >= 0.005, min(gaps)  # 1/200 s
    assert len(handoffs) >= 3, handoffs  # the tenure went back and forth
    assert all(throttle.tenures >= 2 for throttle in throttles)


def test_spacing_a_holder_that_died_loses_its_tenure_when_the_lease_expires(redis: Any) -> None:
    first = RedisThrottle(redis, "dead", rate=100, pacing="spacing", margin=0.0)
    second = RedisThrottle(redis, "dead", rate=100, pacing="spacing", margin=0.0)
    first.TENURE = 0.2
    first.SLACK = 0.3
    first.acquire()
    first.sent(time.monotonic(), more=True)  # wrote, and meant to go on: then killed
    lease = redis.pttl("dead:turn") / 1000
    assert 0.4 <= lease <= 0.53  # tenure + slack + two intervals
    died = time.monotonic()
    second.acquire()  # waits for the lease, not forever
    waited = time.monotonic() - died
    assert lease - 0.05 <= waited < lease + 0.3, (lease, waited)
    second.sent(time.monotonic())
    assert redis.get("dead:turn") is None  # second had nothing more: handed back


def spaced_gaps(throttle: RedisThrottle, n: int) -> list[float]:
    """The gaps between n back-to-back sends paced by a spacing throttle."""
    times = []
    for _ in range(n):
        throttle.acquire()
        times.append(time.monotonic())
        throttle.sent(times[-1], more=True)
    return [b - a for a, b in itertools.pairwise(times)]


def test_spacing_backoff_widens_the_interval_floors_and_recovers(redis: Any) -> None:
    throttle = RedisThrottle(redis, "aimd", rate=100, pacing="spacing", margin=0.0,
                             decrease=0.5, floor=0.5, rise=1.0, debounce=0.05)

    def gaps(n: int) -> list[float]:
        return spaced_gaps(throttle, n)

    assert min(gaps(10)) >= 0.010
    throttle.penalise()
    cut = time.monotonic()
    slowed = gaps(6)
    assert min(slowed) >= 0.010 / (0.5 + 1.0 * (time.monotonic() - cut)) - 0.0005
    assert sum(slowed) / len(slowed) > 0.015  # about twice the interval
    time.sleep(0.06)
    floored = time.monotonic()
    throttle.penalise()
    throttle.penalise()  # a burst of refusals: never below the floor (climbing from it)
    assert 0.5 <= throttle.factor <= 0.5 + 1.0 * (time.monotonic() - floored)
    time.sleep(0.6)  # back by the whole allowance a second: recovered
    throttle.sent(None)
    recovered = gaps(10)
    assert throttle.factor == 1.0
    assert min(recovered) >= 0.010 and sum(recovered) / len(recovered) < 0.013


def test_spacing_a_crowding_refusal_widens_the_pad_for_everyone_once_per_burst_capped(
        redis: Any) -> None:
    def made(**kwargs: Any) -> RedisThrottle:
        # Worn off by a step per 10,000 submits at 100/s: 1e-5 s a second.
        return RedisThrottle(redis, "padded", rate=100, pacing="spacing", margin=0.0,
                             pad_step=0.001, pad_every=10_000, pad_debounce=0.2, pad_cap=0.5,
                             **kwargs)

    first, second = made(), made()
    first.penalise()
    first.penalise()  # within pad_debounce: one burst of refusals widens it once
    assert first.pad == pytest.approx(0.001, abs=2e-6)
    assert second.peek().pad == pytest.approx(0.001, abs=2e-6)  # another process sees it
    # The penalty outlives the pad's wearing off (0.001 s at 1e-5 a second: 100 s).
    assert 99_000 <= redis.pttl("padded:penalty") <= 101_000
    time.sleep(0.21)
    first.penalise(crowded=False)  # 0x14, a full window: the cut, not the pad
    assert first.pad == pytest.approx(0.001, abs=5e-6)
    assert first.factor < 1.0
    first.penalise()
    assert first.pad == pytest.approx(0.002, abs=5e-6)
    # Pacing per second: no pad (the SMSC counts, it does not time gaps).
    counted = RedisThrottle(redis, "counted", rate=100, pad_step=0.001, pad_debounce=0)
    counted.penalise()
    assert counted.peek().pad == 0.0
    # However many refusals, the pad stops at a tenth of the interval (1 ms of 10).
    capped = RedisThrottle(redis, "capped", rate=100, pacing="spacing", margin=0.0,
                           pad_step=0.0003, pad_debounce=0.0, decrease=1.0)
    for _ in range(10):
        capped.penalise()
    assert capped.pad == pytest.approx(0.001, abs=2e-6)
    assert capped.current_rate == pytest.approx(1 / 0.011, rel=1e-3)  # 91 %, not parked


def test_spacing_the_pad_spaces_the_writes_and_wears_off(redis: Any) -> None:
    # No multiplicative cut here (decrease 1): what slows the writes is the pad alone, 5 ms on
    # a 10 ms interval, wearing off by a step per 50 submits' time at 100/s: 10 ms a second,
    # gone in half a second.
    throttle = RedisThrottle(redis, "wear", rate=100, pacing="spacing", margin=0.0,
                             decrease=1.0, pad_step=0.005, pad_every=50, pad_cap=0.5)

    def gaps(n: int) -> list[float]:
        return spaced_gaps(throttle, n)

    assert min(gaps(6)) >= 0.010
    throttle.penalise()
    cut = time.monotonic()
    assert throttle.factor == 1.0 and throttle.pad == pytest.approx(0.005, abs=1e-5)
    slowed = gaps(6)
    # Every gap holds the pad left when it was planned, at least what is left now.
    assert min(slowed) >= 0.010 + 0.005 - 0.01 * (time.monotonic() - cut) - 1e-5, slowed
    time.sleep(max(0.0, cut + 0.55 - time.monotonic()))
    recovered = gaps(10)  # worn off here as in Redis, within the tenure
    assert RedisThrottle(redis, "wear", rate=100, pacing="spacing", margin=0.0,
                         pad_step=0.005, pad_every=50).peek().pad == 0.0
    assert min(recovered) >= 0.010 and sum(recovered) / len(recovered) < 0.013


def test_a_session_widens_the_pad_on_0x58_not_on_0x14(
        redis: Any, smsc: Smsc, make_session: Callable[..., Session]) -> None:
    throttle = RedisThrottle(redis, "session-pad", rate=200, pacing="spacing")
    session = make_session(window=10, throttle=throttle)
    smsc.set(window=1, resp_delay=0.05)  # the SMSC's window: one unanswered submit
    handles = [session.submit(OutboundSms(str(i), f"849{i:08d}", "Hi")) for i in range(3)]
    assert all(o is not None and o.ok for o in (h.wait(30) for h in handles))
    assert smsc.stats()["refused_0x14"] > 0
    assert throttle.peek().pad == 0.0 and throttle.factor < 1.0
    smsc.set(window=None, resp_delay=0.0, throttle_ratio=1.0)
    handle = session.submit(OutboundSms("3", "84900000003", "Hi"))
    assert wait_for(lambda: smsc.stats().get("refused_0x58", 0) > 0)
    smsc.set(throttle_ratio=0.0)
    outcome = handle.wait(30)
    assert outcome is not None and outcome.ok
    assert 0.00003 <= throttle.peek().pad <= 0.00005  # one step (wearing off: 0.05 ms in 5 s)


def test_spacing_the_default_pad_step_is_small_beside_the_interval(redis: Any) -> None:
    # At 200 TPS (5.1 ms at the 2 % margin) one crowding refusal pads by 0.05 ms (1 % of the
    # rate, where 0.2 ms cost 4 % and held 200 TPS at 91 %); the cap, a tenth of the interval,
    # takes eleven refusal bursts to reach.
    throttle = RedisThrottle(redis, "default-step", rate=200, pacing="spacing",
                             pad_debounce=0.0, decrease=1.0)
    throttle.penalise()
    assert throttle.pad == pytest.approx(0.00005, abs=2e-6)
    for _ in range(9):
        throttle.penalise()
    assert throttle.pad == pytest.approx(0.0005, abs=5e-6)  # ten steps: still under the cap
    for _ in range(5):
        throttle.penalise()
    assert throttle.pad == pytest.approx(0.1 / 196, abs=2e-6)  # capped at a tenth
