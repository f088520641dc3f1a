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

MO: a batch's messages are stored, and opt-out keywords acted on, before any is answered; what
they say back (the campaign answered, a survey's choice, the acknowledgement) is made after, by
the smpp process's reply attributor (dispatch.sms.attributor), which the writer wakes after
each batch holding MO (`attributor`; without one, the messages wait, marked, for the next
attributor that looks).

Memory: at most `max_queued` events wait for the writer; beyond that a deliver_sm is refused at
once (the SMSC delivers it again later), so a flood cannot grow the process. MO parts are not
kept in memory at all: they are stored as they come (dispatch.sms.inbound).

Receipts and their parts: a receipt names the SMSC id its submit_sm_resp gave, so that response
came first, and the link's outcome recorder (dispatch.sms.recorder) writes its part. Before it
stores a batch the writer waits (at most ORDER_WAIT) until the recorder has recorded every
outcome queued before the batch's events came, so a receipt finds its part as it is stored.
One that still finds none (the part written by another process, a recorder that is slow or
failing, a concatenated message's part whose response is still out) is stored unmatched.

Housekeeping, on the same thread (dispatch.sms.batcher runs the loop): every `match_every`
seconds stored receipts whose part has been written since are matched (the one sweep over
unmatched receipts); every `sweep_every` seconds concatenated MO
whose parts have not all come within the reassembly timeout are written as incomplete; every
`purge_every` seconds receipts that matched nothing within the receipt wait are deleted.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Protocol

from flask import Flask

from dispatch.extensions import db
from dispatch.models.common import utcnow
from dispatch.sms import inbound, receipts
from dispatch.sms.batcher import Batcher, database_away
from gateways.results import Receipt
from gateways.smpp import Ack, DeliverEvent, answers_together

log = logging.getLogger(__name__)

Item = tuple[DeliverEvent, Ack, int]  # the event, its answer, the recorder's mark when it came


class Wakeable(Protocol):
    """What the writer needs of the reply attributor (dispatch.sms.attributor)."""

    def wake(self) -> None: ...


class Outcomes(Protocol):
    """What the writer needs of the link's outcome recorder (dispatch.sms.recorder)."""

    def mark(self) -> int: ...

    def wait_recorded(self, mark: int, timeout: float) -> bool: ...


class ReceiptWriter:
    """Stores one account's receipts and MO in batches on a thread of its own (see module doc)."""

    # How far back the sweep looks. Only a parts transaction that ran while the receipt was
    # being stored can have missed it, and none lasts minutes (rerun_on_lost_connection gives
    # up after 10 s): older unmatched receipts name ids no part will have, and looking at them
    # every second would cost a scan of all of them (stray ids wait the receipt wait, 48 h).
    MATCH_WINDOW = timedelta(minutes=5)
    # How long a batch waits for the recorder to write the parts its receipts name. A recorder
    # batch takes milliseconds; one that takes longer (the database slow or away) leaves the
    # receipts to the sweep rather than holding them (and their answers to the SMSC).
    ORDER_WAIT = 1.0

    def __init__(self, app: Flask, account_id: int, *, outcomes: Outcomes | None = None,
                 attributor: Wakeable | None = None, batch: int = 500,
                 linger: float | None = None, max_queued: int = 10_000,
                 match_every: float = 1.0, sweep_every: float = 5.0,
                 purge_every: float = 300.0) -> None:
        self.account_id = account_id
        if linger is None:  # gathered by time as well as by count (dispatch.sms.batcher)
            linger = app.config.get("SMPP_RECEIPT_GATHER_MS", 200) / 1000
        gap = app.config.get("SMPP_RECEIPT_GAP_MS", 5)
        self.outcomes = outcomes
        self.max_queued = max_queued
        self.every = {"match": match_every, "sweep": sweep_every, "purge": purge_every}
        self.reassembly = timedelta(seconds=float(app.config.get("MO_REASSEMBLY_SECONDS", 300)))
        self.receipt_wait = timedelta(seconds=float(app.config["RECEIPT_WAIT_SECONDS"]))
        self.attributor = attributor
        self._batcher: Batcher[Item] = Batcher(app, f"receipts-{account_id}", self._store,
                                               batch=batch, linger=linger,
                                               gap=gap / 1000 if gap else None,
                                               tick=self._housekeeping)
        now = time.monotonic()
        # When each chore last ran; the purge runs soon after the start.
        self._done_at = {"match": now, "sweep": now, "purge": now - purge_every}
        self.stored = 0
        self.failures = 0
        self.unreadable = 0  # stored as unreadable since this writer started
        self.refused = 0  # refused because the queue was full
        self.matched_late = 0  # stored unmatched, matched by the sweep (a lost race)

    def on_deliver_later(self, event: DeliverEvent, ack: Ack) -> None:
        """The session's hook: called on its reader thread, so only queue the event."""
        if self._batcher.qsize() >= self.max_queued:
            self.refused += 1
            ack(False)  # the SMSC delivers it again, by when the writer has caught up
            return
        mark = self.outcomes.mark() if self.outcomes is not None else 0
        self._batcher.put((event, ack, mark))

    def start(self) -> ReceiptWriter:
        self._batcher.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        self._batcher.stop(timeout)

    # -- storing -----------------------------------------------------------------------------

    def _store(self, items: list[Item]) -> None:
        if self.outcomes is not None:
            self.outcomes.wait_recorded(max(mark for _, _, mark in items), self.ORDER_WAIT)
        try:
            receipts.store_batch(self.account_id, [event for event, _, _ in items])
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
        with answers_together():  # one write per bind for the whole batch
            for _, ack, _ in items:
                ack(True)
        self._wake_attributor(items)

    def _wake_attributor(self, items: list[Item]) -> None:
        if self.attributor is not None and any(
                not isinstance(event, Receipt) for event, _, _ in items):
            self.attributor.wake()

    def _store_each(self, items: list[Item]) -> None:
        """Each item in its own transaction; one that fails alone is stored as unreadable."""
        for position, (event, ack, _) in enumerate(items):
            try:
                receipts.store_batch(self.account_id, [event])
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                if database_away(exc):
                    self._refuse(items[position:], exc)
                    return
                if not self._store_unreadable(event, exc):
                    ack(False)
                    continue
            self.stored += 1
            ack(True)
        self.failures = 0
        self._wake_attributor(items)

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
        with answers_together():
            for _, ack, _ in items:
                ack(False)
        time.sleep(min(2.0, 0.1 * self.failures))  # a database that is down: no hot loop

    # -- housekeeping ------------------------------------------------------------------------

    def _due(self, chore: str) -> bool:
        now = time.monotonic()
        if now - self._done_at[chore] < self.every[chore]:
            return False
        self._done_at[chore] = now
        return True

    def _housekeeping(self) -> None:
        if self._due("match"):
            self._match_stored()
        if self._due("sweep") and self._sweep(budget=1.0):
            self._done_at["sweep"] -= self.every["sweep"]  # more to do: again after this batch
        if self._due("purge"):
            try:
                purged = receipts.purge_unmatched(self.account_id, utcnow() - self.receipt_wait)
                if purged:
                    log.info("receipts %s: %d unmatched receipts older than the receipt wait "
                             "deleted", self.account_id, purged)
            except Exception as exc:
                db.session.rollback()
                log.warning("receipts %s: purging unmatched receipts failed (%s)",
                            self.account_id, type(exc).__name__)

    def _match_stored(self) -> None:
        """The one sweep over unmatched receipts: those whose part was written meanwhile
        (see the module docstring for how a receipt can come before its part)."""
        try:
            matched = receipts.match_stored(self.account_id, utcnow() - self.MATCH_WINDOW)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.warning("receipts %s: matching stored receipts failed (%s)", self.account_id,
                        type(exc).__name__)
            return
        self.matched_late += matched

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
                if done and self.attributor is not None:
                    self.attributor.wake()
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
