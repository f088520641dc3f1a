"""Outcomes of submits, written to the ledger in batches by one thread per account link.

The account's runner (`dispatch.sms.send`) claims and submits; each submit's outcome arrives on a
session thread and is queued here, and this thread writes a batch per transaction:
- accepted → `submitted`, with one `message_parts` row per part and its SMSC id (the receipt
  writer waits for these before it stores the receipts that followed, dispatch.sms.writer);
- refused for good → `failed` with the SMPP status name as reason and its code;
- unknowable (the link died with it in flight, no answer in time) → `unknown`, never resent;
- retryable with nothing on the wire → `queued` again, claimable after a delay (its `queued_at`
  is set that far ahead; the runners find it then); a row claimed MAX_ATTEMPTS times fails
  instead.
The status is the engine's one `classify` (dispatch.engine.outcomes) with SMS's `POLICY`.
It also counts consecutive gateway failures on the account (in Redis, shared by processes) and
pauses the campaigns concerned at N (`auto_pause_after`), with the reason shown to staff.

Recording apart from submitting keeps the window busy while a batch is written, and while the
runner claims its next chunk.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import delete

from dispatch.campaigns import notes
from dispatch.campaigns import service as campaigns
from dispatch.engine import flags, ledger
from dispatch.engine.outcomes import Policy, classify
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.jobs import keys, rerun_on_lost_connection
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, MessagePart, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of, insert_rows
from dispatch.sms.batcher import Batcher
from gateways.errors import GatewayError
from gateways.outcome import Outcome
from gateways.smpp import PartOutcome, SubmitOutcome

if TYPE_CHECKING:
    from dispatch.sms.links import AccountLink

log = logging.getLogger(__name__)

S = MessageStatus

MAX_ATTEMPTS = 5  # claims of one row before a retryable refusal is final
RETRY_DELAY = 5.0  # s before rows refused as retryable may be claimed again
UNBOUND_DELAY = 5.0  # … when no bind was up
AUTH_FAILED_DELAY = 60.0  # … when the SMSC refused the credentials
# Ends that say nothing about the gateway's health (our own stop, a link event counted once by
# the session): not counted towards the auto-pause.
NOT_GATEWAY_FAILURES = frozenset({"link_lost", "closed", "unbound", "auth_failed", "queue_full"})

_PART_STATUS = {"accepted": S.SUBMITTED, "unknown": S.UNKNOWN, "failed": S.FAILED}
_parts = MessagePart.__table__


@dataclass(frozen=True, slots=True)
class Resolved:
    """A submit's outcome with what recording it needs."""

    message_id: int
    campaign_id: int
    attempts: int  # claims of the row, this one included
    outcome: SubmitOutcome


def describe(failure: GatewayError | Outcome) -> tuple[str, str | None]:
    """(reason, error_code) for the ledger: the SMPP status name when there is one."""
    head, sep, _ = failure.reason.partition(":")
    reason = head.strip() if sep and " " not in head.strip() else (failure.code or "")
    if not reason:
        reason = type(failure).__name__ if isinstance(failure, GatewayError) else "error"
    return reason[:48], (failure.code[:16] if failure.code else None)


def _backoff(outcome: Outcome, attempts: int) -> float:
    if outcome.code == "closed":
        return 0.0  # our own session closed: the next process takes it
    delay = UNBOUND_DELAY if outcome.code == "unbound" else RETRY_DELAY
    return float(outcome.retry_after or delay)


# What SMS decides for itself in the engine's one classify (dispatch.engine.outcomes).
POLICY = Policy(MAX_ATTEMPTS, _backoff, describe, auth_delay=AUTH_FAILED_DELAY)


def refused(ref: str, error: GatewayError) -> SubmitOutcome:
    """The outcome of a message the session refused before queuing it."""
    return SubmitOutcome(ref, "", (PartOutcome(1, "not_sent", None, error, 0),))


def auto_pause_after() -> int:
    """N consecutive gateway failures pause the account's campaigns (0: never)."""
    return int(current_app.config["SMPP_AUTO_PAUSE_FAILURES"])


def write_outcomes(account_id: int, batch: list[Resolved], *, again: bool = False
                   ) -> dict[tuple[int, float], list[int]]:
    """Write a batch of outcomes (caller commits); returns (campaign, delay) → the ids put back
    in the queue, claimable after that delay.

    `again`: a retry after a failed write, whose COMMIT may have gone through before the
    connection broke: only the rows still `sending` are written (their parts would collide)."""
    if again:
        ours = ledger.still_in([item.message_id for item in batch], S.SENDING)
        batch = [item for item in batch if item.message_id in ours]
    now = utcnow()
    moves: dict[tuple[MessageStatus, str | None, str | None, float], list[int]] = \
        defaultdict(list)
    later: dict[tuple[int, float], list[int]] = defaultdict(list)
    parts: list[dict[str, Any]] = []
    resent: list[int] = []
    for item in batch:
        outcome = item.outcome
        verdict = classify(outcome.outcome, item.attempts, POLICY)
        moves[(verdict.status, verdict.reason, verdict.code, verdict.delay or 0.0)].append(
            item.message_id)
        if verdict.delay is not None:
            later[(item.campaign_id, verdict.delay)].append(item.message_id)
        if not outcome.reached_smsc:
            continue
        if item.attempts > 1:
            resent.append(item.message_id)  # an explicit retry: the earlier attempt's parts go
        for part in outcome.parts:
            if part.state == "not_sent":
                continue
            parts.append({
                "message_id": item.message_id, "part_no": part.number,
                "account_id": account_id,
                "smsc_id": part.remote_id[:64] if part.remote_id else None,
                "status": _PART_STATUS[part.state], "submitted_at": now,
                "error_code": part.error.code[:16] if part.error and part.error.code else None})
    if resent:
        db.session.execute(delete(_parts).where(any_of(_parts.c.message_id, resent)))
    for (status, reason, code, delay), ids in moves.items():
        # Put back for later: `queued_at` ahead by the delay, when runners may claim it again.
        at = now + timedelta(seconds=delay) if delay else now
        ledger.move(ids, status, only_from=[S.SENDING], reason=reason, error_code=code, at=at)
    if parts:
        insert_rows(_parts, parts)
    return later


class OutcomeRecorder:
    """The thread that records one account link's submit outcomes (see the module docstring)."""

    def __init__(self, app: Flask, link: AccountLink, *, batch: int = 1000,
                 linger: float | None = None) -> None:
        self.link = link
        if linger is None:  # gathered by time as well as by count (dispatch.sms.batcher)
            linger = app.config.get("SMPP_RECORD_GATHER_MS", 200) / 1000
        self._batcher: Batcher[Resolved] = Batcher(
            app, f"outcomes-{link.account_id}", self._record, batch=batch, linger=linger,
            idle=0.5, setup=self._setup)
        self._zeroed = False  # the account's failure count was last set to 0 by this recorder
        self.pause_after = 0
        self.counts: Counter[str] = Counter()

    def put(self, item: Resolved) -> None:
        """Queue an outcome (from a session thread or the runner)."""
        self._batcher.put(item)

    def mark(self) -> int:
        """The outcomes queued until now, for wait_recorded."""
        return self._batcher.mark()

    def wait_recorded(self, mark: int, timeout: float) -> bool:
        """Wait until the outcomes queued before `mark()` are recorded (see Batcher)."""
        return self._batcher.wait_written(mark, timeout)

    def hurry(self) -> None:
        """Record what has been gathered now (someone waits for it)."""
        self._batcher.hurry()

    def start(self) -> OutcomeRecorder:
        self._batcher.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Record what is queued, then end the thread (after the sessions closed)."""
        self._batcher.stop(timeout)

    def _setup(self) -> None:
        self.pause_after = auto_pause_after()

    def _write(self, batch: list[Resolved], again: bool) -> dict[tuple[int, float], list[int]]:
        later = write_outcomes(self.link.account_id, batch, again=again)
        db.session.commit()
        return later

    def _record(self, batch: list[Resolved]) -> None:
        try:
            try:
                later = rerun_on_lost_connection(
                    lambda run: self._write(batch, run > 1),
                    what=f"smpp {self.link.name}: recording {len(batch)} outcomes")
            except Exception:  # rolled back already
                # The rows stay `sending`: the clock makes them `unknown`.
                log.exception("smpp %s: %d outcomes could not be recorded",
                              self.link.name, len(batch))
                return
            for item in batch:
                self.counts["ok" if item.outcome.ok else "not_ok"] += 1
            # Before the runner may claim again (below): a pause must be seen first.
            self._streak(batch)
            if later:
                self.counts["put_back"] += sum(len(ids) for ids in later.values())
        finally:
            self.link.recorded(batch)

    def _streak(self, batch: list[Resolved]) -> None:
        """Count consecutive gateway failures on the account (shared in Redis); pause at N."""
        if self.pause_after <= 0:
            return
        failures = trailing = 0
        success = False
        failing: dict[int, str] = {}  # campaign → the last failure's reason
        for item in batch:
            error = item.outcome.error
            if item.outcome.ok:
                success, trailing = True, 0
            elif error is not None and error.code not in NOT_GATEWAY_FAILURES:
                failures += 1
                trailing += 1
                failing[item.campaign_id] = describe(error)[0]
        if (not success and not failures) or (success and not trailing and self._zeroed):
            return  # nothing new to count, or the count is 0 already
        key = keys.smpp_failures(self.link.account_id)
        try:
            client = get_redis()
            if success:
                client.set(key, trailing, ex=86400)
                count = trailing
            else:
                count = int(client.incrby(key, failures))
                client.expire(key, 86400)
            self._zeroed = count == 0
            if count >= self.pause_after:
                client.set(key, 0, ex=86400)  # each campaign gets its own N before pausing
                self._zeroed = True
        except RedisError:
            log.warning("smpp %s: cannot count gateway failures (Redis)", self.link.name)
            return
        if count >= self.pause_after:
            for campaign_id, last in failing.items():
                self._auto_pause(campaign_id, count, last)

    def _auto_pause(self, campaign_id: int, count: int, last: str) -> None:
        reason = notes.note(notes.GATEWAY_FAILURES, count=count, account=self.link.name,
                            last=last)
        try:
            c = db.session.get(Campaign, campaign_id)
            if c is not None and c.status is CampaignStatus.SENDING:
                campaigns.pause(c, actor=None, reason=reason)
                db.session.commit()
                log.error("campaign %s: %s", campaign_id, reason)
        except LoaError:
            db.session.rollback()  # paused or cancelled meanwhile: nothing more to do
        with contextlib.suppress(RedisError):  # else the status in the database stops it
            flags.set_stop(campaign_id, reason)
