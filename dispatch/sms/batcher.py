"""One thread that writes what other threads queue, a batch per call, in the app's context.

The receipt writer (dispatch.sms.writer) and the outcome recorder (dispatch.sms.recorder) are
both this loop: session threads `put` items; the thread takes the first one that comes, then
gathers by count and by time: the batch is written once it holds `batch` items or once its
first item has waited `linger` seconds, whichever comes first. A batch per transaction costs
the same few statements and one commit whatever its size, so gathering by time makes a slow
link cost per item about what a fast one does: at 100 items a second a 0.2 s bound gathers
~20 per batch where a 5 ms one wrote them one by one. With `gap`, a batch also goes once no
item has come for `gap` seconds: a sender that waits for the answers to what it sent (an
SMSC's window of unanswered deliver_sm) sends nothing more until the batch is written, and
waiting out the time bound would stall it for nothing (docs/BENCHMARKS.md, "replies"). The
silence that counts is at least `gap` and at least SPREAD times the mean interval between items
lately (measured per batch: its items over the time since the previous batch's first), up to
GAP_CEILING times `gap`: a link whose items come 10 ms apart (a 100 TPS link's receipts) would
otherwise see a 5 ms silence after nearly every one and write them one by one, a transaction
each (docs/BENCHMARKS.md, "accounts at once"), while a full window still goes after `gap` when
its items came close together. An SMSC that allows a single deliver_sm unanswered is then
answered after GAP_CEILING times the gap at worst (its one item a batch looks like a slow link).
After each batch the owner's `tick` (housekeeping) runs on the same thread, so it never needs
a lock. `stop()` writes what is queued, then ends the thread. The database session is the
thread's own and is removed at the end.

Another thread can wait until what was queued up to a moment has been written: `mark()` then
`wait_written(mark, timeout)` (the receipt writer waits so for the parts of the responses that
came before its receipts, dispatch.sms.writer). A waiter does not wait out the time bound:
`wait_written` (and `hurry()`, for a waiter of its own kind, e.g. the runner waiting for room)
makes the batch being gathered go at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError

from dispatch.extensions import db

T = TypeVar("T")


def database_away(exc: BaseException) -> bool:
    """Whether a failure says the database is unreachable or busy, not that the data is bad
    (the writers refuse or retry then, rather than set an item aside)."""
    return isinstance(exc, OperationalError | InterfaceError) or bool(
        getattr(exc, "connection_invalidated", False))


class _Hurry:
    """Queued by `hurry()`: write what has been gathered now."""


HURRY = _Hurry()


class Batcher(Generic[T]):
    """The start/stop/queue/batch/write loop of one writer thread (see the module docstring)."""

    SPREAD = 3.0  # a silence this many mean intervals long ends a batch ...
    GAP_CEILING = 4.0  # ... but one this many `gap`s long always does
    SMOOTHING = 0.3  # weight of the latest batch in the mean interval

    def __init__(self, app: Flask, name: str, write: Callable[[list[T]], None], *,
                 batch: int, linger: float, idle: float = 0.2, gap: float | None = None,
                 tick: Callable[[], None] | None = None,
                 setup: Callable[[], None] | None = None) -> None:
        self.app = app
        self.name = name
        self.write = write
        self.batch = batch
        self.linger = linger
        self.idle = idle  # s to wait for a first item before ticking anyway
        self.gap = gap  # s without a new item after which the batch goes (None: no such bound)
        self.tick = tick
        self.setup = setup
        self._queue: queue.SimpleQueue[T | _Hurry | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Items queued and items written so far: the queue is FIFO with one reader, so once
        # `written` reaches a value `queued` had, everything queued until then was written.
        self._counts = threading.Condition()
        self._queued = 0
        self._written = 0
        # The mean interval between items (None: not known yet), and the previous batch's first
        # item (when it came) and size, from which the next batch measures it.
        self._interval: float | None = None
        self._previous: tuple[float, int] | None = None
        self._first_at = 0.0  # when the first item of the batch being gathered came
        # Set by hurry() and stop() (after they count themselves): end the nap. Hurry markers
        # queued and taken: one queued and not taken yet means no nap.
        self._nudge = threading.Event()
        self._hurried = 0
        self._heeded = 0
        self._stopping = False

    def put(self, item: T) -> None:
        """Queue an item (any thread)."""
        self._queue.put(item)
        with self._counts:
            self._queued += 1

    def mark(self) -> int:
        """How many items were queued until now (see wait_written)."""
        with self._counts:
            return self._queued

    def hurry(self) -> None:
        """Write the batch being gathered now, without waiting out the time bound (any thread).
        The marker queued says: what was queued before it goes now (a marker that finds
        nothing gathered changes nothing)."""
        with self._counts:
            self._hurried += 1
        self._queue.put(HURRY)
        self._nudge.set()

    def wait_written(self, mark: int, timeout: float) -> bool:
        """Wait until the items queued before `mark()` returned it were handed to `write` and
        it returned (whether it committed or gave up); False on timeout or a stopped thread.
        The batch being gathered goes at once (`hurry`)."""
        with self._counts:
            if self._written >= mark:
                return True
        self.hurry()
        with self._counts:
            return self._counts.wait_for(
                lambda: self._written >= mark or not self.running(), timeout) \
                and self._written >= mark

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _write(self, items: list[T]) -> None:
        try:
            self.write(items)
        finally:
            with self._counts:
                self._written += len(items)
                self._counts.notify_all()

    def qsize(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Write what is queued, then end the thread."""
        self._stopping = True
        self._queue.put(None)
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def silence(self) -> float | None:
        """How long without a new item ends the batch being gathered (None: no such bound)."""
        if self.gap is None:
            return None
        if self._interval is None:
            return self.gap
        return min(self.GAP_CEILING * self.gap, max(self.gap, self.SPREAD * self._interval))

    def _measure(self, first_at: float, size: int) -> None:
        """A batch whose first item came at `first_at`: the items of the previous one came over
        the time since its first (a link's pace, whatever ended the batch)."""
        if self._previous is not None:
            at, count = self._previous
            latest = (first_at - at) / count
            self._interval = latest if self._interval is None else (
                self._interval + self.SMOOTHING * (latest - self._interval))
        self._previous = (first_at, size)

    def take(self, wait: float, linger: float | None = None) -> tuple[list[T], bool]:
        """The next batch, and whether the thread was told to stop: the first item to come
        within `wait`, then more until `batch` items or `linger` seconds after the first."""
        linger = self.linger if linger is None else linger
        items: list[T] = []
        silence = self.silence()
        try:
            return self._gather(items, wait, linger, silence)
        finally:
            if items:
                self._measure(self._first_at, len(items))

    def _gather(self, items: list[T], wait: float, linger: float,
                silence: float | None) -> tuple[list[T], bool]:
        """`take`, into `items`: the first item within `wait`, then more until `batch` items,
        `linger` after the first, `silence` without a new one, or a hurry.

        After the first item the thread naps (up to the silence, or until the count bound is
        due at the pace measured) and looks at the queue's length, rather than waiting on the
        queue for each item: a wake-up per item, for each of a link's submits and receipts,
        was the largest single cost of the smpp process at a few hundred TPS. Only `hurry` and
        `stop` wake it early. A silence is a nap in which nothing came: the batch goes between
        one and two silences after its last item."""
        while not items:
            try:
                item = (self._queue.get(timeout=wait) if wait > 0
                        else self._queue.get_nowait())
            except queue.Empty:
                return items, False
            if item is None:
                return items, True
            if isinstance(item, _Hurry):
                self._heeded += 1
                continue  # nothing gathered: keep waiting for a first item
            items.append(item)
        self._first_at = time.monotonic()
        deadline = self._first_at + linger
        while True:
            queued = self._queue.qsize()
            wanted = self.batch - len(items) - queued
            left = deadline - time.monotonic()
            if wanted <= 0 or left <= 0:
                break
            nap = left if silence is None else min(left, silence)
            if self._interval:
                nap = min(nap, max(0.001, wanted * self._interval))
            self._nudge.clear()  # then look: a hurry or stop after this sets it again
            if self._stopping or self._hurried > self._heeded or self._nudge.wait(nap):
                break
            if silence is not None and self._queue.qsize() == queued:
                break
        while len(items) < self.batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return items, True
            if isinstance(item, _Hurry):
                self._heeded += 1
                break
            items.append(item)
        return items, False

    def _run(self) -> None:
        with self.app.app_context():
            try:
                if self.setup is not None:
                    self.setup()
                while True:
                    items, stop = self.take(self.idle)
                    if items:
                        self._write(items)
                    if stop:
                        self._drain()
                        return
                    if self.tick is not None:
                        self.tick()
            finally:
                db.session.remove()
                with self._counts:
                    self._counts.notify_all()  # waiters see the thread is gone

    def _drain(self) -> None:
        """Whatever was queued after the stop."""
        while True:
            items, _ = self.take(0.0, linger=0.0)
            if not items:
                if self._queue.empty():
                    return
                continue  # a second stop marker
            self._write(items)
