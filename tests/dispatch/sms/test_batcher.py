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
        for n in range(5):
            batcher.put(n)
            time.sleep(0.005)
        assert wait_for(lambda: seen.written == 5, 10)
        assert seen.sizes == [5]
        assert seen.at[0] - first < 5.0  # not the 30 s time bound
    finally:
        batcher.stop(5)
