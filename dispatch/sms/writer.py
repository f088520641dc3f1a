"""The receipt writer: one thread per account that stores what the SMSC delivers, then answers.

The sessions hand every deliver_sm (receipt, MO, MO part) to `on_deliver_later(event, ack)` on
their reader threads; the writer stores a batch in one transaction (dispatch.sms.receipts)
and only then acknowledges each one (`ack(True)`: ESME_ROK).

One bad item never stalls the others. When a batch fails:
- the database is away (a lost connection, a lock timeout): every item is refused
  (`ack(False)`: ESME_RX_T_APPN, the SMSC delivers it again later) and the writer backs off;
- anything else (a value the database refuses, a row an integrity rule rejects): the items are
  stored again one by one, each in its own transaction. One that still fails is stored as
  *unreadable* (its octets only, dispatch.sms.inbound.store_unreadable), acknowledged and
  counted (`unreadable`, and `loa_inbound_unreadable` in /metrics); redelivering the same bytes
  could never help. Only if even that fails is it refused.

Memory: at most `max_queued` events wait for the writer; beyond that a deliver_sm is refused at
once (the SMSC delivers it again later), so a flood cannot grow the process. MO parts are not
kept in memory at all: they are stored as they come (dispatch.sms.inbound).

Housekeeping, on the same thread: every `sweep_every` seconds concatenated MO whose parts have
not all come within the reassembly timeout are written as incomplete; every `purge_every`
seconds receipts that matched nothing within the receipt wait are deleted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError

from dispatch.extensions import db
from dispatch.models.common import utcnow
from dispatch.sms import inbound, receipts
from gateways.results import Receipt
from gateways.smpp import Ack, DeliverEvent

log = logging.getLogger(__name__)

Item = tuple[DeliverEvent, Ack]


def database_away(exc: BaseException) -> bool:
    """Whether a failure says the database is unreachable or busy, not that the data is bad."""
    return isinstance(exc, OperationalError | InterfaceError) or bool(
        getattr(exc, "connection_invalidated", False))


class ReceiptWriter:
    """Stores one account's receipts and MO in batches on a thread of its own (see module doc).

    `hold(smsc_id)` says a submit_sm_resp with that id was just received in this process and its
    part is about to be written: such a receipt waits (unacknowledged, up to `HOLD` seconds) so
    it is stored already matched, which costs far less than matching it afterwards.
    """

    RETRY_AFTER = (0.5, 2.0, 5.0, 15.0, 40.0)  # s after storing: unmatched receipts tried again
    HOLD = 0.5

    def __init__(self, app: Flask, account_id: int, *, batch: int = 500,
                 linger: float = 0.02, hold: Callable[[str], bool] | None = None,
                 max_queued: int = 10_000, sweep_every: float = 5.0,
                 purge_every: float = 300.0) -> None:
        self.app = app
        self.account_id = account_id
        self.batch = batch
        self.linger = linger
        self.hold = hold
        self.max_queued = max_queued
        self.sweep_every = sweep_every
        self.purge_every = purge_every
        self.reassembly = timedelta(seconds=float(app.config.get("MO_REASSEMBLY_SECONDS", 300)))
        self.receipt_wait = timedelta(seconds=float(app.config["RECEIPT_WAIT_SECONDS"]))
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._retries: list[tuple[float, int, str]] = []  # (due, attempt, smsc_id)
        self._held: list[tuple[float, DeliverEvent, Ack]] = []  # (until, event, ack)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._swept_at = time.monotonic()
        self._purged_at = time.monotonic() - purge_every  # purge soon after start
        self.stored = 0
        self.failures = 0
        self.unreadable = 0  # stored as unreadable since this writer started
        self.refused = 0  # refused because the queue was full

    def on_deliver_later(self, event: DeliverEvent, ack: Ack) -> None:
        """The session's hook: called on its reader thread, so only queue the event."""
        if self._queue.qsize() >= self.max_queued:
            self.refused += 1
            ack(False)  # the SMSC delivers it again, by when the writer has caught up
            return
        self._queue.put((event, ack))

    def start(self) -> ReceiptWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"receipts-{self.account_id}")
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        self._stopping = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _take(self, wait: float) -> tuple[list[Item], bool]:
        """The next batch and whether the writer was told to stop."""
        items: list[Item] = []
        try:
            first = self._queue.get(timeout=wait)
        except queue.Empty:
            return items, False
        if first is None:
            stop = True
        else:
            items.append(first)
            stop = False
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

    def _sort(self, items: list[Item], release_all: bool = False) -> list[Item]:
        """Hold back receipts whose part is being written; return what to store now."""
        now = time.monotonic()
        ready: list[Item] = []
        held, self._held = self._held, []
        for until, event, ack in held:
            if release_all or now >= until or not self._holds(event):
                ready.append((event, ack))
            else:
                self._held.append((until, event, ack))
        for event, ack in items:
            if not release_all and self._holds(event):
                self._held.append((now + self.HOLD, event, ack))
            else:
                ready.append((event, ack))
        return ready

    def _holds(self, event: DeliverEvent) -> bool:
        return (self.hold is not None and isinstance(event, Receipt)
                and bool(event.remote_id) and self.hold(event.remote_id))

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while True:
                    items, stop = self._take(0.01 if self._held else 0.2)
                    ready = self._sort(items)
                    if ready:
                        self._store(ready)
                    self._retry_due()
                    self._housekeeping()
                    if stop or (self._stopping and self._queue.empty()):
                        while not self._queue.empty():  # whatever came meanwhile
                            items, _ = self._take(0.0)
                            self._held.extend((0.0, e, a) for e, a in items)
                        ready = self._sort([], release_all=True)
                        if ready:
                            self._store(ready)
                        return
            finally:
                db.session.remove()

    # -- storing -----------------------------------------------------------------------------

    def _store(self, items: list[Item]) -> None:
        try:
            unmatched = receipts.store_batch(self.account_id, [event for event, _ in items])
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            if database_away(exc):
                self._refuse(items, exc)
                return
            if len(items) > 1:
                log.warning("receipts %s: a batch of %d failed (%s); storing them one by one",
                            self.account_id, len(items), type(exc).__name__)
            self._store_each(items)
            return
        self.failures = 0
        self.stored += len(items)
        for _, ack in items:
            ack(True)
        self._retry_later(unmatched)

    def _store_each(self, items: list[Item]) -> None:
        """Each item in its own transaction; one that fails alone is stored as unreadable."""
        for position, (event, ack) in enumerate(items):
            try:
                unmatched = receipts.store_batch(self.account_id, [event])
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                if database_away(exc):
                    self._refuse(items[position:], exc)
                    return
                if not self._store_unreadable(event, exc):
                    ack(False)
                    continue
                unmatched = []
            self.stored += 1
            ack(True)
            self._retry_later(unmatched)
        self.failures = 0

    def _store_unreadable(self, event: DeliverEvent, exc: BaseException) -> bool:
        try:
            inbound.store_unreadable(self.account_id, event, utcnow())
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("receipts %s: an unreadable %s could not be stored either; the SMSC "
                          "will redeliver it", self.account_id, type(event).__name__)
            return False
        self.unreadable += 1
        # The type only: the exception's text may hold what the sender wrote.
        log.error("receipts %s: a %s could not be stored as read (%s); kept as unreadable "
                  "(%d octets) and acknowledged", self.account_id, type(event).__name__,
                  type(exc).__name__, len(event.payload))
        return True

    def _refuse(self, items: list[Item], exc: BaseException) -> None:
        self.failures += 1
        log.error("receipts %s: storing %d events failed, the database is away (%s); the SMSC "
                  "will redeliver them", self.account_id, len(items), type(exc).__name__)
        for _, ack in items:
            ack(False)
        time.sleep(min(2.0, 0.1 * self.failures))  # a database that is down: no hot loop

    # -- unmatched receipts tried again ------------------------------------------------------

    def _retry_later(self, unmatched: list[str]) -> None:
        now = time.monotonic()
        self._retries.extend((now + self.RETRY_AFTER[0], 0, smsc_id) for smsc_id in unmatched)

    def _retry_due(self) -> None:
        if not self._retries:
            return
        now = time.monotonic()
        due = [r for r in self._retries if r[0] <= now]
        if not due:
            return
        self._retries = [r for r in self._retries if r[0] > now]
        try:
            matched = receipts.match_unmatched(self.account_id, [smsc_id for _, _, smsc_id in due])
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("receipts %s: matching stored receipts failed", self.account_id)
            matched = set()
        for _, attempt, smsc_id in due:
            if smsc_id not in matched and attempt + 1 < len(self.RETRY_AFTER):
                # Later than this, the sender's own matching finds it when it writes the part.
                self._retries.append((now + self.RETRY_AFTER[attempt + 1], attempt + 1, smsc_id))

    # -- housekeeping ------------------------------------------------------------------------

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= self.sweep_every:
            self._swept_at = now
            if self._sweep(budget=1.0):
                self._swept_at = now - self.sweep_every  # more to do: again after this batch
        if now - self._purged_at >= self.purge_every:
            self._purged_at = now
            try:
                purged = receipts.purge_unmatched(self.account_id, utcnow() - self.receipt_wait)
                if purged:
                    log.info("receipts %s: %d unmatched receipts older than the receipt wait "
                             "deleted", self.account_id, purged)
            except Exception as exc:
                db.session.rollback()
                log.warning("receipts %s: purging unmatched receipts failed (%s)",
                            self.account_id, type(exc).__name__)

    def _sweep(self, budget: float, chunk: int = 500) -> bool:
        """Store timed-out concatenated MO, a chunk per transaction, for about `budget` seconds
        (receipts wait meanwhile); True if some were left for the next turn."""
        deadline = time.monotonic() + budget
        written = 0
        try:
            while True:
                at = utcnow()
                done = inbound.sweep_fragments(self.account_id, at - self.reassembly,
                                               receipts.opt_out_keywords(), at, limit=chunk)
                db.session.commit()
                written += done
                if done < chunk or time.monotonic() >= deadline:
                    return done >= chunk
        except Exception as exc:
            db.session.rollback()
            log.warning("receipts %s: sweeping MO parts failed (%s)", self.account_id,
                        type(exc).__name__)
            return False
        finally:
            if written:
                log.info("receipts %s: %d concatenated MO timed out, stored as they came",
                         self.account_id, written)
