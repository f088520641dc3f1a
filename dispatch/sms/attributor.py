"""The reply attributor: one thread per smpp process that makes replies of the MO stored.

The receipt writers (dispatch.sms.writer, one per account) answer the SMSC once a batch of MO
is committed, each message a person wrote marked `reply_pending`; they then wake this thread,
which makes their replies (dispatch.replies.attribute: the campaign answered, the survey's
choice, the daily limit, the acknowledgement) a batch at a time, oldest first, whatever the
account, and ends the mark in the same transaction. The SMSC's window of unanswered deliver_sm
is therefore held only for the storing, not for the attribution, and attribution gathers what
several writer batches stored. One thread, not one per account: attribution runs one batch at
a time anyway (it decides with what earlier replies say), and each thread would hold a database
connection of its own.

Nothing is lost between the stages: the mark is in the database. At its start and every `poll`
seconds the thread also looks for marked messages by itself, so what a process killed between
the stages left, what `flask smpp probe`'s bind received, or a wake-up that never came, is
attributed by the next one to run, once: a batch's replies and the end of its mark commit
together.

One bad message never holds up the rest. When a batch fails:
- the database is away: the messages stay marked, the thread backs off and tries again;
- anything else: the batch's messages are attributed one by one, each in its own transaction;
  one that still fails is left with no reply (its MO row stays, unmarked), logged with its id
  and counted (`failed`).
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from dispatch.extensions import db
from dispatch.replies import attribute
from dispatch.sms.batcher import Batcher, database_away

log = logging.getLogger(__name__)


class ReplyAttributor:
    """Makes the replies of stored MO on a thread of its own (module doc)."""

    def __init__(self, app: Flask, *, batch: int = 500, poll: float = 1.0) -> None:
        self.batch = batch
        self.poll = poll
        # A wake-up is an item (not None: that stops a Batcher); the thread takes every wake-up
        # queued at once (linger 0) and attributes whatever is marked, however many writer
        # batches stored it.
        self._batcher: Batcher[bool] = Batcher(app, "replies", self._woken,
                                               batch=100_000, linger=0.0, idle=poll,
                                               tick=self._look)
        self._looked_at = 0.0  # monotonic time of the last look, woken or not
        self.attributed = 0  # messages made replies since this thread started
        self.failed = 0  # messages left with no reply (a reply could not be made)
        self.failures = 0  # batches in a row that failed with the database away

    def wake(self) -> None:
        """A writer's call after it committed MO (any thread)."""
        self._batcher.put(True)

    def start(self) -> ReplyAttributor:
        self._batcher.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Attribute what the last wake-ups asked for, then end the thread (after the
        writers: what they stored last is attributed)."""
        self._batcher.stop(timeout)

    def _woken(self, wakes: list[bool]) -> None:
        self.run()

    def _look(self) -> None:
        if time.monotonic() - self._looked_at >= self.poll:
            self.run()

    def run(self) -> None:
        """Attribute marked messages, a batch per transaction, until none is left."""
        self._looked_at = time.monotonic()
        while True:
            rows: list[attribute.StoredMo] = []
            try:
                rows = attribute.take_pending(self.batch)
                attribute.attribute(rows)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                if database_away(exc) or not rows:
                    self._back_off(exc)
                    return
                log.warning("replies: a batch of %d failed (%s); attributing them one by one",
                            len(rows), type(exc).__name__)
                if not self._one_by_one([row.id for row in rows]):
                    return
                continue
            self.failures = 0
            self.attributed += len(rows)
            if len(rows) < self.batch:
                return

    def _one_by_one(self, ids: list[int]) -> bool:
        """Each message in its own transaction; False if the database went away."""
        for message_id in ids:
            rows: list[attribute.StoredMo] = []
            try:
                # Still marked? Another process may have attributed it since the batch failed.
                rows = attribute.take_pending(1, ids=[message_id])
                attribute.attribute(rows)
                db.session.commit()
                self.attributed += len(rows)
                continue
            except Exception as exc:
                db.session.rollback()
                if database_away(exc):
                    self._back_off(exc)
                    return False
                failure = type(exc).__name__
            try:
                attribute.give_up([message_id])
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                self._back_off(exc)
                return False
            self.failed += 1
            # The id and the type only: the exception's text may hold what the sender wrote.
            log.error("replies: no reply could be made of MO %d (%s); it stays stored",
                      message_id, failure)
        return True

    def _back_off(self, exc: BaseException) -> None:
        self.failures += 1
        log.error("replies: attributing failed (%s); the messages stay marked and are "
                  "attributed later", type(exc).__name__)
        time.sleep(min(2.0, 0.1 * self.failures))
