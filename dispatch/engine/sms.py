"""SMS send batches: the RQ job the smpp process runs for each account.

    send_batch(campaign_id, account_id, message_ids)

Runs only inside the smpp process (`flask smpp run`), which serves the account's queues with a
non-forking worker and holds the account's live sessions (`dispatch.engine.smpp.links`). It
follows docs/ENGINE.md:
- before each chunk: `flags.sendable(campaign)` (status, window, validity) and a bound link;
- claim a chunk (two windows' worth, `AccountLink.chunk_size`) with `ledger.claim`, commit, then
  submit each claimed row; the next chunk is claimed while a window's worth is still in flight,
  so the window never runs dry between chunks (at most three windows' worth of rows are
  `sending` at any moment: what a crash can leave for the clock to mark `unknown`);
- between submits: `flags.may_send` (trusted for 50 ms), and the process's own stop; unsent
  claimed rows go back to `queued`;
- outcomes are recorded in batches, one transaction each: accepted → `submitted` with one
  `message_parts` row per part (its SMSC id); refused for good → `failed` (reason, error_code);
  unknowable (the link died, no answer) → `unknown`, never resent; retryable with nothing on
  the wire → `queued` and enqueued again later (`enqueue_in`), never sleeping in the worker;
- after N consecutive gateway failures on the account (`auto_pause_after`, default 50; 0 turns
  it off) the campaign is paused by the system with the reason shown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, select, update

from dispatch import jobs, ledger
from dispatch.campaigns import service as campaigns
from dispatch.engine import enqueue, flags, receipts
from dispatch.engine.smpp import links
from dispatch.engine.smpp.bulk import any_of, insert_rows
from dispatch.engine.smpp.links import AccountLink
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Message, MessagePart, MessageStatus
from dispatch.models.common import utcnow
from dispatch.redis_conn import get_redis
from gateways.errors import AuthFailed, GatewayError, Permanent, Unknowable
from gateways.smpp import OutboundSms, PartOutcome, SubmitOutcome
from gateways.sms.encoding import split
from gateways.sms.plain import strip_diacritics

log = logging.getLogger(__name__)

S = MessageStatus

MAX_ATTEMPTS = 5  # claims of one row before a retryable refusal is final
RETRY_DELAY = 5.0  # s before rows refused as retryable are enqueued again
UNBOUND_DELAY = 5.0  # … when no bind was up
AUTH_FAILED_DELAY = 60.0  # … when the SMSC refused the credentials
BIND_WAIT = 5.0  # s a job waits for a bind when it starts (the process may be just binding)
FLAG_TTL = 0.05  # s a may_send answer is trusted between submits
STATUS_TTL = 0.1  # s the campaign's status read from the database is trusted between chunks
STALL_LIMIT = 180.0  # s with rows in flight and no outcome: leave them to the clock (→ unknown)
RECORD_TRIES = 3
DEFAULT_AUTO_PAUSE = 50
# Ends that say nothing about the gateway's health (our own stop, a link event counted once by
# the session): not counted towards the auto-pause.
NOT_GATEWAY_FAILURES = frozenset({"link_lost", "closed", "unbound", "auth_failed", "queue_full"})
# Stops after which this job's untouched rows need a job again (the campaign still sends).
REQUEUE_ON_STOP = {"shutdown": 0.0, "unbound": UNBOUND_DELAY, "auth_failed": AUTH_FAILED_DELAY}

_PART_STATUS = {"accepted": S.SUBMITTED, "unknown": S.UNKNOWN, "failed": S.FAILED}
_messages = Message.__table__
_parts = MessagePart.__table__


@jobs.in_app_context
def send_batch(campaign_id: int, account_id: int, message_ids: list[int]) -> dict[str, int]:
    """Send these `queued` rows of one campaign through the account's live sessions."""
    link = links.get(account_id)
    if link is None:
        # Not the smpp process, or the account was disabled meanwhile: the rows stay queued.
        log.warning("sms batch for account %s: no live link in this process", account_id)
        return {"no_link": len(message_ids)}
    return BatchSender(link, campaign_id, message_ids).run()


@dataclass(frozen=True, slots=True)
class Template:
    """What every message of the campaign carries."""

    text: str
    source: str
    source_ton: int
    source_npi: int
    parts: int


def template_of(c: Campaign, link: AccountLink) -> Template:
    text = c.sms_text or ""
    if c.sms_plain:
        text = strip_diacritics(text)
    try:
        parts = len(split(text))
    except ValueError:
        parts = 0
    return Template(text, c.sms_sender or "", link.source_ton, link.source_npi, parts)


def describe(error: GatewayError) -> tuple[str, str | None]:
    """(reason, error_code) for the ledger: the SMPP status name when there is one."""
    head, sep, _ = error.reason.partition(":")
    reason = head.strip() if sep and " " not in head.strip() else (error.code or "")
    reason = reason or type(error).__name__
    return reason[:48], (error.code[:16] if error.code else None)


def classify(outcome: SubmitOutcome, attempts: int) -> tuple[MessageStatus, str | None,
                                                             str | None, float | None]:
    """The row's next status, reason, error code, and the delay before resending (queued only)."""
    if outcome.ok:
        return S.SUBMITTED, None, None, None
    error = outcome.error
    assert error is not None
    reason, code = describe(error)
    if isinstance(error, Unknowable):
        return S.UNKNOWN, reason, code, None
    if outcome.reached_smsc or isinstance(error, Permanent) or attempts >= MAX_ATTEMPTS:
        return S.FAILED, reason, code, None  # a part is out: resending would duplicate it
    if isinstance(error, AuthFailed):
        return S.QUEUED, reason, code, AUTH_FAILED_DELAY
    if error.code == "closed":
        return S.QUEUED, reason, code, 0.0  # our own session closed: the next process takes it
    retry_after = getattr(error, "retry_after", None)
    delay = UNBOUND_DELAY if error.code == "unbound" else RETRY_DELAY
    return S.QUEUED, reason, code, float(retry_after or delay)


def auto_pause_after() -> int:
    """N: config SMPP_AUTO_PAUSE_FAILURES, else env LOA_SMPP_AUTO_PAUSE_FAILURES, else 50."""
    value = current_app.config.get("SMPP_AUTO_PAUSE_FAILURES")
    if value is None:
        value = os.environ.get("LOA_SMPP_AUTO_PAUSE_FAILURES") or DEFAULT_AUTO_PAUSE
    return int(value)


def refused(ref: str, error: GatewayError) -> SubmitOutcome:
    """The outcome of a message the session refused before queuing it."""
    return SubmitOutcome(ref, "", (PartOutcome(1, "not_sent", None, error, 0),))


class Pending(NamedTuple):
    """A row as the job read it: where it goes, and its attempts before this job's claim."""

    id: int
    address: str | None
    attempts: int


class BatchSender:
    """One run of `send_batch` (see the module docstring).

    Each step is one transaction: record the outcomes that came in, and claim the next chunk;
    commit; then submit that chunk. So a step costs one commit whatever happened in it.
    """

    def __init__(self, link: AccountLink, campaign_id: int, message_ids: list[int]) -> None:
        self.link = link
        self.campaign_id = campaign_id
        self.todo: deque[int] = deque(sorted({int(i) for i in message_ids}))
        self.inflight: set[int] = set()
        self.attempts: dict[int, int] = {}
        self.done: queue.SimpleQueue[tuple[int, SubmitOutcome]] = queue.SimpleQueue()
        self.later: dict[float, list[int]] = defaultdict(list)  # delay → ids to enqueue again
        self.stop_reason: str | None = None
        self.counts: Counter[str] = Counter()
        self.pause_after = auto_pause_after()
        self._flag_at = 0.0
        self._flag_ok = True
        self._last_failure: str | None = None
        self.until: datetime | None = None
        self.rows: dict[int, Pending] = {}
        self._status_at = 0.0
        self._zeroed = False  # this job set the account's failure count to 0 last
        self._verdict: tuple[bool, str | None] = (False, None)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        c = db.session.get(Campaign, self.campaign_id)
        if c is None:
            return {"no_campaign": len(self.todo)}
        template = template_of(c, self.link)
        self.until = flags.valid_until(c)
        # Detached, so commits do not expire it: each chunk re-reads only what can change.
        db.session.expunge(c)
        self._load(template)
        db.session.commit()  # hold no transaction while waiting for a bind
        problem = self.link.wait_ready(BIND_WAIT)
        if problem:
            self.stop_reason = problem
        chunk = self.link.chunk_size()
        # The next chunk is claimed while up to a window's worth is unresolved, so the window
        # keeps working while a step writes: at most `ahead + chunk` rows are `sending`.
        ahead = min(self.link.capacity, chunk)
        progress = time.monotonic()
        while True:
            more = bool(self.todo) and self.stop_reason is None
            if more and len(self.inflight) <= ahead:
                self._step(c, template, chunk, self._outcomes(0, 0.0))
                continue
            if not self.inflight:
                break
            need = len(self.inflight) - ahead if more else min(len(self.inflight), chunk)
            batch = self._outcomes(need, 0.5)
            if batch:
                progress = time.monotonic()
                if more and len(self.inflight) - len(batch) <= ahead:
                    self._step(c, template, chunk, batch)
                else:
                    self._step(c, template, 0, batch)
            elif time.monotonic() - progress > STALL_LIMIT:
                log.error("sms batch %s/%s: %d rows without an outcome for %.0f s; left "
                          "`sending` for the clock", self.campaign_id, self.link.account_id,
                          len(self.inflight), STALL_LIMIT)
                self.counts["abandoned"] += len(self.inflight)
                break
        self._finish(c)
        return dict(self.counts)

    def _outcomes(self, need: int, timeout: float) -> list[tuple[int, SubmitOutcome]]:
        """Wait for `need` outcomes (at most `timeout` s), then take whatever else is ready."""
        batch: list[tuple[int, SubmitOutcome]] = []
        deadline = time.monotonic() + timeout
        while len(batch) < need:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.done.get(timeout=left))
            except queue.Empty:
                break
        while True:
            try:
                batch.append(self.done.get_nowait())
            except queue.Empty:
                return batch

    def _step(self, c: Campaign, template: Template, size: int,
              batch: list[tuple[int, SubmitOutcome]]) -> None:
        """Record `batch` and claim up to `size` more rows in one transaction, then submit them."""
        ids: list[int] = []
        if size:
            ok, why = self._sendable(c)
            if ok:
                ids = [self.todo.popleft() for _ in range(min(size, len(self.todo)))]
            else:
                self.stop_reason = why or "stopped"
        if not batch and not ids:
            db.session.commit()  # end the read of the checks
            return
        try:
            for attempt in range(1, RECORD_TRIES + 1):
                try:
                    written = self._write_outcomes(batch)
                    rows = self._claim(ids, template)
                    db.session.commit()
                    break
                except Exception:
                    db.session.rollback()
                    if attempt == RECORD_TRIES:
                        self.todo.extendleft(reversed(ids))  # never claimed
                        raise  # outcomes unrecorded: those rows stay `sending` → `unknown`
                    log.exception("sms batch %s: a ledger write failed; trying again", c.id)
                    time.sleep(attempt)
        finally:
            self._stored(batch)
        self._recorded(c, batch, written)
        self.counts["skipped"] += len(ids) - len(rows)
        if rows and self.stop_reason is not None:  # auto-paused by this very batch
            self._put_back([row.id for row in rows])
        elif rows:
            self._submit(c, template, rows)

    def _sendable(self, c: Campaign) -> tuple[bool, str | None]:
        if self.link.stopping.is_set():
            return False, "shutdown"
        now = time.monotonic()
        if now - self._status_at >= STATUS_TTL:
            # The full check, with the status read afresh; between two, the stop flag (below)
            # and the window's clock are what can change.
            self._status_at = now
            c.status, c.window_start, c.window_end = db.session.execute(
                select(Campaign.status, Campaign.window_start, Campaign.window_end)
                .where(Campaign.id == c.id)).one()
            try:
                self._verdict = flags.sendable(c)
            except RedisError:
                log.warning("sms batch %s: Redis unavailable; checking the database only", c.id)
                self._verdict = (c.status is CampaignStatus.SENDING, c.status.value)
        ok, why = self._verdict
        if ok and not self._may_send(c.id):
            ok, why = False, "stopping"
        if ok and self.link.problem():
            problem = self.link.wait_ready(2.0)
            if problem:
                return False, problem
        return ok, why

    def _may_send(self, campaign_id: int) -> bool:
        """The check between submits: the process's stop, then the campaign's stop flag."""
        if self.link.stopping.is_set():
            self.stop_reason = "shutdown"
            return False
        now = time.monotonic()
        if now - self._flag_at >= FLAG_TTL:
            self._flag_at = now
            try:
                self._flag_ok = flags.may_send(campaign_id)
            except RedisError:
                self._flag_ok = True  # the database check before the next chunk decides
            if not self._flag_ok:
                self.stop_reason = "stopping"
        return self._flag_ok

    def _load(self, template: Template) -> None:
        """Read the job's queued rows once (address, attempts); drop the others from the list."""
        ids = list(self.todo)
        found: dict[int, Pending] = {}
        stale: list[int] = []
        for start in range(0, len(ids), 1000):
            stmt = (select(_messages.c.id, _messages.c.address, _messages.c.attempts,
                           _messages.c.parts)
                    .where(any_of(_messages.c.id, ids[start:start + 1000]),
                           _messages.c.status == S.QUEUED))
            for row_id, address, attempts, parts in db.session.execute(stmt):
                found[row_id] = Pending(row_id, address, attempts)
                if parts != template.parts:
                    stale.append(row_id)
        if stale:  # expansion normally wrote it; `parts` is what the report bills
            db.session.execute(update(_messages).where(any_of(_messages.c.id, stale))
                               .values(parts=template.parts))
        self.rows = found
        self.counts["skipped"] += len(ids) - len(found)  # not queued: sent, or someone else's
        self.todo = deque(i for i in ids if i in found)

    def _claim(self, ids: list[int], template: Template) -> list[Pending]:
        """Claim `ids` (those still queued); the claim counted one more attempt."""
        claimed = ledger.claim(ids)
        missing = [i for i in claimed if i not in self.rows]
        if missing:  # queued again since the job started (e.g. put back by another job)
            stmt = select(_messages.c.id, _messages.c.address, _messages.c.attempts).where(
                any_of(_messages.c.id, missing))
            for row_id, address, attempts in db.session.execute(stmt):
                self.rows[row_id] = Pending(row_id, address, attempts - 1)
        return [Pending(i, self.rows[i].address, self.rows[i].attempts + 1) for i in claimed
                if i in self.rows]

    def _submit(self, c: Campaign, template: Template, rows: list[Pending]) -> None:
        until = self.until
        validity = self.link.validity if until is None else max(timedelta(seconds=1),
                                                                  until - utcnow())
        for index, row in enumerate(rows):
            if not self._may_send(c.id):
                self._put_back([r.id for r in rows[index:]])
                return
            self.attempts[row.id] = row.attempts
            self.inflight.add(row.id)
            if not row.address or not template.text:
                self.done.put((row.id, refused(str(row.id), Permanent(
                    "no address" if not row.address else "no text", code="no_content"))))
                continue
            message = OutboundSms(
                ref=str(row.id), destination=row.address.lstrip("+"), text=template.text,
                source=template.source, source_ton=template.source_ton,
                source_npi=template.source_npi, validity=validity)
            try:
                self.link.submit(message, on_done=self._on_done(row.id))
            except GatewayError as error:
                self.done.put((row.id, refused(str(row.id), error)))
            except BaseException:
                self.inflight.discard(row.id)
                self._put_back([r.id for r in rows[index:]])
                raise

    def _on_done(self, message_id: int) -> Callable[[SubmitOutcome], None]:
        unstored = self.link.unstored

        def done(outcome: SubmitOutcome) -> None:
            # On a session thread: no database here. The receipt writer holds receipts for
            # these ids back until the step that writes their parts has committed.
            for part in outcome.parts:
                if part.remote_id:
                    unstored.add(part.remote_id)
            self.done.put((message_id, outcome))
        return done

    def _stored(self, batch: list[tuple[int, SubmitOutcome]]) -> None:
        for _, outcome in batch:
            for part in outcome.parts:
                if part.remote_id:
                    self.link.unstored.discard(part.remote_id)

    def _put_back(self, ids: list[int]) -> None:
        """Claimed rows that were not submitted go back to `queued` (and to this job's list)."""
        if ids:
            ledger.move(ids, S.QUEUED, only_from=[S.SENDING])
            db.session.commit()
            self.todo.extendleft(reversed(ids))
            self.counts["returned"] += len(ids)

    # -- outcomes ------------------------------------------------------------------------------

    def _write_outcomes(self, batch: list[tuple[int, SubmitOutcome]]
                        ) -> tuple[Counter[str], dict[float, list[int]]]:
        """Write the outcomes (caller commits); returns counts and delayed resends to apply."""
        counts: Counter[str] = Counter()
        later: dict[float, list[int]] = defaultdict(list)
        if not batch:
            return counts, later
        now = utcnow()
        moves: dict[tuple[MessageStatus, str | None, str | None], list[int]] = defaultdict(list)
        parts: list[dict[str, Any]] = []
        resent: list[int] = []
        account_id = self.link.account_id
        for message_id, outcome in batch:
            attempts = self.attempts.get(message_id, 1)
            status, reason, code, delay = classify(outcome, attempts)
            moves[(status, reason, code)].append(message_id)
            counts[status.value] += 1
            if delay is not None:
                later[delay].append(message_id)
            if not outcome.reached_smsc:
                continue
            if attempts > 1:
                resent.append(message_id)  # an explicit retry: the earlier attempt's parts go
            for part in outcome.parts:
                if part.state == "not_sent":
                    continue
                parts.append({
                    "message_id": message_id, "part_no": part.number, "account_id": account_id,
                    "smsc_id": part.remote_id[:64] if part.remote_id else None,
                    "status": _PART_STATUS[part.state], "submitted_at": now,
                    "error_code": part.error.code[:16] if part.error and part.error.code
                    else None})
        if resent:
            db.session.execute(delete(_parts).where(any_of(_parts.c.message_id, resent)))
        for (status, reason, code), ids in moves.items():
            ledger.move(ids, status, only_from=[S.SENDING], reason=reason, error_code=code,
                        at=now)
        if parts:
            insert_rows(_parts, parts)
            # Receipts that came before their submit_sm_resp was stored are matched now.
            receipts.match_unmatched(account_id, [p["smsc_id"] for p in parts if p["smsc_id"]])
        return counts, later

    def _recorded(self, c: Campaign, batch: list[tuple[int, SubmitOutcome]],
                  written: tuple[Counter[str], dict[float, list[int]]]) -> None:
        """After the commit: bookkeeping, and the count of consecutive gateway failures."""
        counts, later = written
        self.counts.update(counts)
        for delay, ids in later.items():
            self.later[delay].extend(ids)
        failures = trailing = 0
        success = False
        for message_id, outcome in batch:
            self.inflight.discard(message_id)
            if outcome.ok:
                success, trailing = True, 0
            elif outcome.error is not None and outcome.error.code not in NOT_GATEWAY_FAILURES:
                failures += 1
                trailing += 1
                self._last_failure = describe(outcome.error)[0]
        self._streak(c, success, failures, trailing)

    def _streak(self, c: Campaign, success: bool, failures: int, trailing: int) -> None:
        """Count consecutive gateway failures on the account (shared in Redis); pause at N."""
        if self.pause_after <= 0 or self.stop_reason == "auto_paused":
            return
        if (not success and not failures) or (success and not trailing and self._zeroed):
            return  # nothing new to count, or the count is 0 already
        key = f"loa:smpp:{self.link.account_id}:failures"
        try:
            client = get_redis()
            if success:
                client.set(key, trailing, ex=86400)
                count = trailing
                self._zeroed = not trailing
            else:
                self._zeroed = False
                count = int(client.incrby(key, failures))
                client.expire(key, 86400)
            if count >= self.pause_after:
                client.set(key, 0, ex=86400)  # each campaign gets its own N before pausing
        except RedisError:
            log.warning("sms batch %s: cannot count gateway failures (Redis)", c.id)
            return
        if count >= self.pause_after:
            self._auto_pause(c, count)

    def _auto_pause(self, c: Campaign, count: int) -> None:
        reason = (f"Paused automatically: {count} consecutive gateway failures on SMPP account "
                  f"{self.link.name!r} (last: {self._last_failure}).")
        log.error("campaign %s: %s", c.id, reason)
        try:
            live = db.session.get(Campaign, c.id)
            if live is not None and live.status is CampaignStatus.SENDING:
                campaigns.pause(live, actor=None, reason=reason)
                db.session.commit()
        except LoaError:
            db.session.rollback()  # paused or cancelled meanwhile: nothing more to do
        with contextlib.suppress(RedisError):  # else the status in the database stops it
            flags.set_stop(c.id, reason)
        self.stop_reason = "auto_paused"
        self.counts["auto_paused"] = 1

    def _finish(self, c: Campaign) -> None:
        remaining = list(self.todo)
        if remaining and self.stop_reason == "expired":
            self.counts["expired"] += ledger.move(remaining, S.EXPIRED, only_from=[S.QUEUED],
                                                 reason="validity_ended")
            db.session.commit()
        elif remaining and self.stop_reason in REQUEUE_ON_STOP:
            self.later[REQUEUE_ON_STOP[self.stop_reason]].extend(remaining)
        # Paused, cancelled, outside the window: the rows stay queued; resume and the window's
        # opening enqueue every queued row again (enqueue.enqueue_queued).
        for delay, ids in sorted(self.later.items()):
            enqueue.enqueue_sms(c, self.link.account_id, ids, delay=delay or None)
            self.counts["requeued"] += len(ids)
        if self.stop_reason:
            self.counts[f"stop:{self.stop_reason}"] = 1
