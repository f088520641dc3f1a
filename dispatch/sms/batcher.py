"""One thread that writes what other threads queue, a batch per call, in the app's context.

The receipt writer (dispatch.sms.writer) and the outcome recorder (dispatch.sms.recorder) are
both this loop: session threads `put` items; the thread takes the first one that comes, waits
up to `linger` seconds for up to `batch` more (a batch per transaction costs the same few
statements and one commit whatever its size), hands them to `write`, then calls `tick` (the
owner's housekeeping, on the same thread, so it never needs a lock). `stop()` writes what is
queued, then ends the thread. The database session is the thread's own and is removed at the
end.

Another thread can wait until what was queued up to a moment has been written: `mark()` then
`wait_written(mark, timeout)` (the receipt writer waits so for the parts of the responses that
came before its receipts, dispatch.sms.writer).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import Flask

from dispatch.extensions import db

T = TypeVar("T")


class Batcher(Generic[T]):
    """The start/stop/queue/batch/write loop of one writer thread (see the module docstring)."""

    def __init__(self, app: Flask, name: str, write: Callable[[list[T]], None], *,
                 batch: int, linger: float, idle: float = 0.2,
                 tick: Callable[[], None] | None = None,
                 setup: Callable[[], None] | None = None) -> None:
        self.app = app
        self.name = name
        self.write = write
        self.batch = batch
        self.linger = linger
        self.idle = idle  # s to wait for a first item before ticking anyway
        self.tick = tick
        self.setup = setup
        self._queue: queue.SimpleQueue[T | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Items queued and items written so far: the queue is FIFO with one reader, so once
        # `written` reaches a value `queued` had, everything queued until then was written.
        self._counts = threading.Condition()
        self._queued = 0
        self._written = 0

    def put(self, item: T) -> None:
        """Queue an item (any thread)."""
        self._queue.put(item)
        with self._counts:
            self._queued += 1

    def mark(self) -> int:
        """How many items were queued until now (see wait_written)."""
        with self._counts:
            return self._queued

    def wait_written(self, mark: int, timeout: float) -> bool:
        """Wait until the items queued before `mark()` returned it were handed to `write` and
        it returned (whether it committed or gave up); False on timeout or a stopped thread."""
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
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def take(self, wait: float) -> tuple[list[T], bool]:
        """The next batch, and whether the thread was told to stop."""
        items: list[T] = []
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return items, False
        stop = first is None
        if first is not None:
            items.append(first)
        deadline = time.monotonic() + self.linger
        while len(items) < self.batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                stop = True
            else:
                items.append(item)
        return items, stop

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
            items, _ = self.take(0.0)
            if not items:
                if self._queue.empty():
                    return
                continue  # a second stop marker
            self._write(items)
