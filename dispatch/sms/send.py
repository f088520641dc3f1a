"""SMS send batches: the RQ job the smpp process runs for each account.

    send_batch(campaign_id, account_id, message_ids)

Runs only inside the smpp process (`flask smpp run`), which serves the account's queues with a
non-forking worker and holds the account's live sessions (`dispatch.sms.links`). It
follows docs/ENGINE.md:
- before each chunk: `flags.sendable(campaign)` (status, window, validity) and a bound link;
- claim a chunk (two windows' worth, `AccountLink.chunk_size`) with `ledger.claim`, commit, then
  submit each claimed row; the next chunk is claimed once at most one chunk of the account's
  rows is unrecorded, so the window never runs dry and at most two chunks (four windows' worth)
  are `sending` at any moment: what a crash can leave for the clock to mark `unknown`;
- between submits: `flags.may_send` (trusted for 50 ms), and the process's own stop; unsent
  claimed rows go back to `queued`;
- outcomes are recorded by the link's recorder thread (`dispatch.sms.recorder`), in
  batches, apart from this job, so one job's last submits overlap the next job's first:
  accepted → `submitted` with its parts and SMSC ids; refused for good → `failed`; unknowable
  → `unknown`; retryable with nothing on the wire → `queued`, enqueued again later; N
  consecutive gateway failures pause the campaign.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from redis.exceptions import RedisError
from sqlalchemy import select, update

from dispatch import jobs
from dispatch.engine import enqueue, flags, ledger
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of
from dispatch.sms import links
from dispatch.sms.links import AccountLink
from dispatch.sms.recorder import (
    AUTH_FAILED_DELAY,
    UNBOUND_DELAY,
    Resolved,
    refused,
)
from gateways.errors import GatewayError, Permanent
from gateways.smpp import OutboundSms, SubmitOutcome
from gateways.sms.encoding import split
from gateways.sms.plain import strip_diacritics

log = logging.getLogger(__name__)

S = MessageStatus

BIND_WAIT = 5.0  # s a job waits for a bind when it starts (the process may be just binding)
FLAG_TTL = 0.05  # s a may_send answer is trusted between submits
STATUS_TTL = 0.1  # s the campaign's status read from the database is trusted between chunks
STALL_LIMIT = 180.0  # s without room for another chunk: give the rest of the job back
# Stops after which this job's untouched rows need a job again (the campaign still sends).
REQUEUE_ON_STOP = {"shutdown": 0.0, "unbound": UNBOUND_DELAY, "auth_failed": AUTH_FAILED_DELAY,
                   "stalled": UNBOUND_DELAY}

_messages = Message.__table__


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


class Pending(NamedTuple):
    """A row as the job read it: where it goes, and its attempts before this job's claim."""

    id: int
    address: str | None
    attempts: int


class BatchSender:
    """One run of `send_batch` (see the module docstring): claim, check, submit."""

    def __init__(self, link: AccountLink, campaign_id: int, message_ids: list[int]) -> None:
        self.link = link
        self.campaign_id = campaign_id
        self.todo: deque[int] = deque(sorted({int(i) for i in message_ids}))
        self.stop_reason: str | None = None
        self.counts: Counter[str] = Counter()
        self.until: datetime | None = None
        self.rows: dict[int, Pending] = {}
        self._flag_at = 0.0
        self._flag_ok = True
        self._status_at = 0.0
        self._verdict: tuple[bool, str | None] = (False, None)

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
        # The next chunk is claimed once at most one chunk of the account's rows is unrecorded:
        # the window keeps working while the recorder writes, and at most two chunks are
        # `sending` at any moment.
        ahead = chunk
        while self.todo and self.stop_reason is None:
            if not self.link.wait_below(ahead, STALL_LIMIT):
                self.stop_reason = "shutdown" if self.link.stopping.is_set() else "stalled"
                break
            ok, why = self._sendable(c)
            if not ok:
                self.stop_reason = why or "stopped"
                break
            ids = [self.todo.popleft() for _ in range(min(chunk, len(self.todo)))]
            rows = self._claim(ids)
            db.session.commit()
            self.counts["skipped"] += len(ids) - len(rows)  # not queued: sent, or another's
            self._submit(c, template, rows)
        self._finish(c)
        return dict(self.counts)

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
        self._flag_at = 0.0  # the stop flag is read afresh before each chunk
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

    def _claim(self, ids: list[int]) -> list[Pending]:
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
        link = self.link
        for index, row in enumerate(rows):
            if not self._may_send(c.id):
                self._put_back([r.id for r in rows[index:]])
                return
            link.handed()
            if not row.address or not template.text:
                error = Permanent("no address" if not row.address else "no text",
                                  code="no_content")
                link.resolved(Resolved(row.id, c.id, row.attempts, refused(str(row.id), error)))
                continue
            message = OutboundSms(
                ref=str(row.id), destination=row.address.lstrip("+"), text=template.text,
                source=template.source, source_ton=template.source_ton,
                source_npi=template.source_npi, validity=validity)
            try:
                link.submit(message, on_done=self._on_done(row.id, c.id, row.attempts))
            except GatewayError as error:
                link.resolved(Resolved(row.id, c.id, row.attempts, refused(str(row.id), error)))
            except BaseException:
                link.handed(-1)  # this one was not handed after all
                self._put_back([r.id for r in rows[index:]])
                raise
            self.counts["submitted"] += 1

    def _on_done(self, message_id: int, campaign_id: int, attempts: int
                 ) -> Callable[[SubmitOutcome], None]:
        link = self.link

        def done(outcome: SubmitOutcome) -> None:
            # On a session thread: no database here; the link's recorder writes it.
            link.resolved(Resolved(message_id, campaign_id, attempts, outcome))
        return done

    def _put_back(self, ids: list[int]) -> None:
        """Claimed rows that were not submitted go back to `queued` (and to this job's list)."""
        if ids:
            ledger.move(ids, S.QUEUED, only_from=[S.SENDING])
            db.session.commit()
            self.todo.extendleft(reversed(ids))
            self.counts["returned"] += len(ids)

    def _finish(self, c: Campaign) -> None:
        remaining = list(self.todo)
        if remaining and self.stop_reason == "expired":
            self.counts["expired"] += ledger.move(remaining, S.EXPIRED, only_from=[S.QUEUED],
                                                 reason="validity_ended")
            db.session.commit()
        elif remaining and self.stop_reason in REQUEUE_ON_STOP:
            delay = REQUEUE_ON_STOP[self.stop_reason]
            enqueue.enqueue_sms(c, self.link.account_id, remaining, delay=delay or None)
            self.counts["requeued"] += len(remaining)
        # Paused, cancelled, outside the window: the rows stay queued; resume and the window's
        # opening enqueue every queued row again (enqueue.enqueue_queued).
        if self.stop_reason:
            self.counts[f"stop:{self.stop_reason}"] = 1
