"""SMS sending: each account's runner in the smpp process takes its work from the ledger.

    AccountSender(link, wake).run()   # in the account's thread, until link.stopping is set

No RQ job carries SMS rows: the ledger is the queue. The runner follows docs/ENGINE.md:
- the campaigns it may send for now: `sending`, no stop flag, inside the send window, within
  their validity (`flags.sendable`, the list re-read every CAMPAIGNS_TTL while busy), urgent
  ones first, then the oldest;
- it claims a chunk (`AccountLink.claim_size`: 50 ms of the TPS, at least two windows' worth,
  at most 500) of their `queued` rows routed to this account, oldest first, urgent campaigns'
  first (`ledger.claim_next`: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several smpp
  processes on several hosts share an account's rows without claiming one twice; their
  throttle is shared in Redis), commits, then hands the rows to the sessions a window at a
  time while they hold at most two windows (`AccountLink.hold`), so a stop is obeyed within a
  window whatever the chunk; while the sessions are full it claims the next chunk, once at
  most one chunk is claimed and unrecorded, so the window never runs dry during a claim and at
  most two chunks are `sending` at any moment: what a crash can leave for the clock to mark
  `unknown`;
- after a refusal the runner hands nothing more until it is recorded (the recorder may pause
  the campaign for it), then reads the stop flags afresh;
- between submits: `flags.may_send` (trusted for 50 ms), and the process's own stop; claimed
  rows not submitted go back to `queued`;
- outcomes are recorded by the link's recorder thread (`dispatch.sms.recorder`), in batches,
  apart from the runner: accepted → `submitted` with its parts and SMSC ids; refused for good →
  `failed`; unknowable → `unknown`; retryable with nothing on the wire → `queued` again,
  claimable after a delay; N consecutive gateway failures pause the campaign.
When nothing is claimable the runner waits for a wake-up (`enqueue.wake_sms`, published after
expansion, resume and retry commit rows) or POLL seconds, whichever comes first: a lost
wake-up (Redis away) delays nothing by more than POLL. Paused, cancelled, expired campaigns and
closed windows are simply not claimed from; the clock expires rows past their validity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select, update

from dispatch.campaigns.placeholders import as_written, is_personal
from dispatch.engine import flags, ledger
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus, MessageText
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of
from dispatch.replies.ask import sent_text
from dispatch.sms.links import AccountLink
from dispatch.sms.recorder import Resolved, refused
from gateways.errors import GatewayError, Permanent
from gateways.smpp import OutboundSms, SubmitOutcome
from gateways.sms.encoding import split
from gateways.sms.plain import strip_diacritics

log = logging.getLogger(__name__)

S = MessageStatus

POLL = 1.0  # s an idle runner waits for a wake-up before looking at the ledger again
BIND_WAIT = 2.0  # s the runner waits for a bind before idling (the process may be binding)
FLAG_TTL = 0.05  # s a may_send answer is trusted between submits
CAMPAIGNS_TTL = 0.1  # s the list of sendable campaigns is trusted between chunks
ROOM_WAIT = 0.5  # s the runner waits for room for another chunk before looking again

_messages = Message.__table__
_COLUMNS = (Campaign.id, Campaign.status, Campaign.priority, Campaign.window_start,
            Campaign.window_end, Campaign.send_at, Campaign.launched_at, Campaign.validity_hours,
            Campaign.sms_text, Campaign.sms_plain, Campaign.sms_sender, Campaign.reply_mode,
            Campaign.survey)


@dataclass(frozen=True, slots=True)
class Template:
    """What every message of the campaign carries."""

    text: str
    source: str
    source_ton: int
    source_npi: int
    parts: int
    # Each recipient's text was rendered at expansion (message_texts), with its own parts.
    personal: bool = False


def template_of(c: Campaign, link: AccountLink) -> Template:
    text = sent_text(as_written(c.sms_text or ""), c.reply_mode, c.survey)
    if c.sms_plain:
        text = strip_diacritics(text)
    try:
        parts = len(split(text))
    except ValueError:
        parts = 0
    return Template(text, c.sms_sender or "", link.source_ton, link.source_npi, parts,
                    is_personal(c.sms_text))


@dataclass(frozen=True, slots=True)
class Live:
    """A campaign the runner may claim for, with what its messages carry."""

    id: int
    urgent: bool
    template: Template
    until: datetime | None  # when its validity ends


class AccountSender:
    """One account's runner (see the module docstring): claim, check, submit."""

    def __init__(self, link: AccountLink, wake: threading.Event | None = None) -> None:
        self.link = link
        self.wake = wake or threading.Event()
        self.counts: Counter[str] = Counter()
        self._live: list[Live] = []
        self._live_at = -CAMPAIGNS_TTL
        self._flags: dict[int, tuple[float, bool]] = {}
        self._templates: dict[tuple[int, str, bool, str, str], Template] = {}
        self._after: dict[int, int] = {}  # campaign → the last id claimed (ledger.claim_next)
        # Claimed rows not handed to the sessions yet, per campaign, in the order to hand them,
        # and the texts of the personalised ones among them.
        self._held: list[tuple[Live, list[tuple[int, str | None, int, int]]]] = []
        self._texts: dict[int, str] = {}

    def run(self) -> None:
        """Until the link stops (in an app context): claim and submit, or wait for work."""
        link = self.link
        while not link.stopping.is_set():
            self.wake.clear()  # a wake-up during this round makes the wait below return at once
            try:
                worked = self.round()
            except Exception:
                db.session.rollback()
                log.exception("smpp %s: sending failed; trying again", link.name)
                link.stopping.wait(1.0)
                continue
            if not worked:
                db.session.rollback()  # hold no transaction (nor snapshot) while idle
                self.wake.wait(POLL)

    def round(self) -> bool:
        """Claim a chunk and hand it to the sessions (claiming the next one meanwhile when
        there is room); False when there was nothing to do (idle)."""
        link = self.link
        if link.problem() and link.wait_ready(BIND_WAIT):
            return False  # no bind up: the rows stay queued, for this process or another
        chunk = link.claim_size()
        # At most one chunk claimed and unrecorded before the next is claimed: at most two
        # chunks are `sending` at once, what a crash can leave for the clock to mark `unknown`.
        if not link.wait_below(chunk, ROOM_WAIT):
            return True
        if not self._claim(chunk):
            return False
        try:
            self._hand(chunk)
        finally:
            # Stopped, or failed: what is still held goes back (never handed, so never sent).
            self._put_back([r[0] for _, rows in self._held for r in rows])
            self._held = []
        return True

    def _claim(self, chunk: int) -> bool:
        """Claim up to `chunk` rows of the campaigns that may send, held in `_held` (urgent
        campaigns' first), and commit; False when none was claimable."""
        link = self.link
        room = chunk
        claimed = 0
        self._flags.clear()  # the stop flags are read afresh before each chunk
        for live in self.live():
            if not self._may_send(live.id):
                continue  # paused or cancelled since the list was read
            after = self._after.get(live.id, 0)
            rows = ledger.claim_next(live.id, link.account_id, room, after=after)
            if not rows and after:
                # Past the last row: look from the start again (rows put back for later, rows
                # another process let go).
                rows = ledger.claim_next(live.id, link.account_id, room)
            # A full chunk: the next claim seeks past it; a short one: from the start again.
            self._after[live.id] = rows[-1][0] if len(rows) == room else 0
            if rows:
                self._held.append((live, list(rows)))
                if live.template.personal:  # each recipient's text, rendered at expansion
                    self._texts.update(db.session.execute(
                        select(MessageText.message_id, MessageText.text)
                        .where(any_of(MessageText.message_id, [r[0] for r in rows]))).all())
                claimed += len(rows)
                room -= len(rows)
                stale = [] if live.template.personal else [
                    r[0] for r in rows if r[3] != live.template.parts]
                if stale:  # expansion normally wrote it; `parts` is what the report bills
                    db.session.execute(update(_messages).where(any_of(_messages.c.id, stale))
                                       .values(parts=live.template.parts))
            if room <= 0:
                break
        db.session.commit()
        self.counts["claimed"] += claimed
        self._held.sort(key=lambda held: not held[0].urgent)  # stable: oldest first after
        return claimed > 0

    def _hand(self, chunk: int) -> None:
        """Hand the held rows to the sessions a window at a time, while they hold at most
        `link.hold`, checking the stops between (a stop is obeyed within a window); while the
        sessions are full, claim the next chunk if at most one is claimed and unrecorded."""
        link = self.link
        window = max(1, link.capacity)
        more = True  # claimable rows may be left (a claim that finds none ends the look-ahead)
        while self._held and not link.stopping.is_set():
            if link.in_sessions > link.hold - window:
                held = sum(len(rows) for _, rows in self._held)
                if more and link.unrecorded + held <= chunk:
                    # The sessions work meanwhile: the window stays full during the claim.
                    more = self._claim(chunk)
                else:
                    link.wait_hold(ROOM_WAIT)
                continue
            if link.failing > 0:
                # A refusal came: it may pause its campaign once recorded (the auto-pause);
                # hand nothing more until it is, then read the stop flags afresh.
                link.wait_failures_recorded(ROOM_WAIT)
                self._flags.clear()
                if link.failing > 0:
                    continue
            live, rows = self._held[0]
            piece, rest = rows[:window], rows[window:]
            if rest:
                self._held[0] = (live, rest)
            else:
                self._held.pop(0)
            if not self._submit(live, piece):  # put its own unsent rows back
                # That campaign stopped: its other held rows go back; the others' go on.
                mine = [r[0] for held, later in self._held if held.id == live.id
                        for r in later]
                self._held = [(held, later) for held, later in self._held
                              if held.id != live.id]
                self._put_back(mine)

    def live(self) -> list[Live]:
        """The campaigns that may send now, urgent first then oldest (cached CAMPAIGNS_TTL)."""
        now = time.monotonic()
        if now - self._live_at < CAMPAIGNS_TTL:
            return self._live
        self._live_at = now
        found: list[Live] = []
        at = utcnow()
        for row in db.session.execute(select(*_COLUMNS).where(
                Campaign.status == CampaignStatus.SENDING, Campaign.channels != "push")):
            c = Campaign(**dict(zip([col.key for col in _COLUMNS], row, strict=True)))
            try:
                ok = flags.sendable(c, at)[0]
            except RedisError:  # the database's word only: status, validity, window
                until = flags.valid_until(c)
                ok = (until is None or at < until) and flags.in_window(c, at)
            if ok:
                found.append(Live(c.id, c.priority == "urgent", self._template(c),
                                  flags.valid_until(c)))
        found.sort(key=lambda live: (not live.urgent, live.id))
        self._live = found
        return found

    def _template(self, c: Campaign) -> Template:
        key = (c.id, c.sms_text or "", bool(c.sms_plain), c.sms_sender or "", c.reply_mode)
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) > 1000:
                self._templates.clear()
            template = self._templates[key] = template_of(c, self.link)
        return template

    def _may_send(self, campaign_id: int) -> bool:
        """The check between submits: the process's stop, then the campaign's stop flag."""
        if self.link.stopping.is_set():
            return False
        now = time.monotonic()
        at, ok = self._flags.get(campaign_id, (-FLAG_TTL, True))
        if now - at >= FLAG_TTL:
            try:
                ok = flags.may_send(campaign_id)
            except RedisError:
                ok = True  # the database check before the next chunk decides
            self._flags[campaign_id] = (now, ok)
            if not ok:
                self._live_at = -CAMPAIGNS_TTL  # read the campaigns afresh before the next chunk
        return ok

    def _submit(self, live: Live, rows: list[tuple[int, str | None, int, int]]) -> bool:
        """Submit the claimed rows; False (the rest put back) when a stop came between two."""
        template = live.template
        until = live.until
        validity = self.link.validity if until is None else max(timedelta(seconds=1),
                                                                  until - utcnow())
        link = self.link
        texts = self._texts
        for index, (row_id, address, attempts, _) in enumerate(rows):
            if not self._may_send(live.id):
                self._put_back([r[0] for r in rows[index:]])
                return False
            link.handed()
            text = texts.pop(row_id, "") if template.personal else template.text
            if not address or not text:
                error = Permanent("no address" if not address else "no text", code="no_content")
                link.resolved(Resolved(row_id, live.id, attempts, refused(str(row_id), error)))
                continue
            message = OutboundSms(
                ref=str(row_id), destination=address.lstrip("+"), text=text,
                source=template.source, source_ton=template.source_ton,
                source_npi=template.source_npi, validity=validity)
            try:
                link.submit(message, on_done=self._on_done(row_id, live.id, attempts))
            except GatewayError as error:
                link.resolved(Resolved(row_id, live.id, attempts, refused(str(row_id), error)))
            except BaseException:
                link.handed(-1)  # this one was not handed after all
                self._put_back([r[0] for r in rows[index:]])
                raise
            self.counts["submitted"] += 1
        return True

    def _on_done(self, message_id: int, campaign_id: int, attempts: int
                 ) -> Callable[[SubmitOutcome], None]:
        link = self.link

        def done(outcome: SubmitOutcome) -> None:
            # On a session thread: no database here; the link's recorder writes it.
            link.resolved(Resolved(message_id, campaign_id, attempts, outcome))
        return done

    def _put_back(self, ids: list[int]) -> None:
        """Claimed rows that were not submitted go back to `queued`, claimable at once."""
        for row_id in ids:
            self._texts.pop(row_id, None)
        if ids:
            ledger.move(ids, S.QUEUED, only_from=[S.SENDING])
            db.session.commit()
            self.counts["returned"] += len(ids)
