"""The batching thread of the outcome recorder and the receipt writer: by count and by time."""

from __future__ import annotations

import threading
import time
from typing import Any

from dispatch.sms.batcher import Batcher
from scripts.harness import wait_for


class Batches:
    """What a Batcher's write saw: each batch, and when it was written (monotonic)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.at: list[float] = []
        self.lock = threading.Lock()

    def write(self, items: list[Any]) -> None:
        with self.lock:
            self.sizes.append(len(items))
            self.at.append(time.monotonic())

    @property
    def written(self) -> int:
        with self.lock:
            return sum(self.sizes)


def test_a_slow_trickle_is_gathered_and_written_within_the_time_bound(app: Any) -> None:
    # Five items 10 ms apart, far fewer than the count bound: with a 5 ms bound each would be
    # a batch (a transaction) of its own; gathered for 0.3 s they are one batch, written once
    # the first has waited the bound although no more come and nothing stops the thread.
    seen = Batches()
    batcher: Batcher[int] = Batcher(app, "trickle", seen.write, batch=1000, linger=0.3)
    batcher.start()
    try:
        first = time.monotonic()
        for n in range(5):
            batcher.put(n)
            time.sleep(0.01)
        assert wait_for(lambda: seen.written == 5, 10)
        assert seen.sizes == [5]
        assert seen.at[0] - first >= 0.3  # it gathered: written no sooner than the bound
    finally:
        batcher.stop(5)


def test_the_count_bound_still_cuts_a_batch_before_the_time_bound(app: Any) -> None:
    seen = Batches()
    batcher: Batcher[int] = Batcher(app, "flood", seen.write, batch=10, linger=30.0)
    batcher.start()
    try:
        for n in range(25):
            batcher.put(n)
        assert wait_for(lambda: seen.written >= 20, 10)  # two full batches, not 30 s later
        assert seen.sizes[:2] == [10, 10]
    finally:
        batcher.stop(5)
    assert seen.written == 25 and seen.sizes[2:] == [5]  # the rest on stop, at once


def test_a_waiter_does_not_wait_out_the_time_bound(app: Any) -> None:
    # The receipt writer waits for the parts of the responses before its receipts
    # (wait_written), the runner for room (hurry): the batch being gathered goes at once.
    seen = Batches()
    batcher: Batcher[int] = Batcher(app, "waited", seen.write, batch=1000, linger=60.0)
    batcher.start()
    try:
        batcher.put(1)
        batcher.put(2)
        assert batcher.wait_written(batcher.mark(), timeout=10)
        assert seen.sizes == [2]
        batcher.put(3)
        batcher.hurry()
        assert wait_for(lambda: seen.written == 3, 10)
        assert seen.sizes == [2, 1]
        batcher.hurry()  # nothing gathered: a hurry changes nothing
        batcher.put(4)
        batcher.put(5)
        assert batcher.wait_written(batcher.mark(), timeout=10)
        assert seen.sizes == [2, 1, 2]
    finally:
        batcher.stop(5)


def feed(batcher: Batcher[int], count: int, *, every: float) -> None:
    """Items 0 … count-1, one every `every` seconds: a link's steady pace."""
    for n in range(count):
        batcher.put(n)
        time.sleep(every)


def test_with_a_gap_a_batch_goes_once_nothing_more_comes(app: Any) -> None:
    # An SMSC whose window of unanswered deliver_sm is full sends nothing until the batch is
    # written and answered: the batch goes once no item has come for `gap`, not after the
    # time bound, and items that keep coming closer than the gap are still gathered.
    seen = Batches()
    batcher: Batcher[int] = Batcher(app, "windowed", seen.write, batch=1000, linger=30.0,
                                    gap=0.05)
    batcher.start()
    try:
        first = time.monotonic()
        feed(batcher, 5, every=0.005)
        assert wait_for(lambda: seen.written == 5, 10)
        assert seen.sizes == [5]
        assert seen.at[0] - first < 5.0  # not the 30 s time bound
    finally:
        batcher.stop(5)


def test_a_steady_link_slower_than_the_gap_is_still_gathered(app: Any) -> None:
    # Items 30 ms apart (a slow link's receipts) with a 10 ms gap: a silence of one gap after
    # nearly every item would write each alone. The batcher learns the link's pace and waits
    # for a silence of several intervals (up to four gaps, 40 ms) before it writes, so they
    # are gathered; once they stop, the batch still goes then, not after the 30 s bound.
    seen = Batches()
    batcher: Batcher[int] = Batcher(app, "steady", seen.write, batch=1000, linger=30.0,
                                    gap=0.01)
    batcher.start()
    try:
        feed(batcher, 20, every=0.03)
        assert wait_for(lambda: seen.written == 20, 10)
        assert len(seen.sizes) < 10, seen.sizes  # one gap alone: twenty batches of one
    finally:
        batcher.stop(5)


def test_the_silence_follows_the_pace_between_the_gap_and_its_ceiling(app: Any) -> None:
    # The mean interval comes from each batch's items over the time to the next batch's first.
    batcher: Batcher[int] = Batcher(app, "pace", lambda items: None, batch=1000, linger=1.0,
                                    gap=0.005)
    assert batcher.silence() == 0.005  # nothing measured yet: the gap
    at = 0.0
    for _ in range(20):  # one item every 10 ms: three intervals (30 ms) pass four gaps
        batcher._measure(at, 1)
        at += 0.010
    assert abs(batcher.silence() - 0.020) < 1e-9  # capped at 4 × 5 ms (3 × 10 ms is more)
    for _ in range(20):  # a full window of 100 every 20 ms: items 0.2 ms apart
        batcher._measure(at, 100)
        at += 0.020
    assert abs(batcher.silence() - 0.005) < 1e-6  # back to the gap: a window goes at once
    assert Batcher(app, "none", lambda items: None, batch=10, linger=1.0).silence() is None
