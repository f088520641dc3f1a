"""Store-first receipts and MO messages from the SMSC, matched to the ledger in batches.

The session hands every deliver_sm to `ReceiptWriter.on_deliver_later(event, ack)` on its reader
thread; the writer thread stores a batch in one transaction and only then acknowledges each
deliver_sm (`ack(True)`), or refuses the whole batch (`ack(False)`: the SMSC delivers it again)
when storing failed. Storing is idempotent: a redelivered receipt is stored again as received
(`raw_receipts` keeps every copy) and changes nothing else.

Matching: a receipt names the SMSC id of one part; `(account_id, smsc_id)` finds the
`message_parts` row. A receipt for an id whose submit_sm_resp this process has just received
waits (up to half a second, unacknowledged) until the send job has written the part, then is
stored already matched. One that comes before its submit_sm_resp is stored unmatched in
`raw_receipts`; the code that writes parts (`dispatch.engine.sms`) matches it in the same
transaction (`match_unmatched`), and the writer retries its unmatched receipts for a minute,
which closes the race where both transactions ran at once and neither saw the other's rows.

Receipt states → part status: DELIVRD → delivered; EXPIRED → expired; UNDELIV, REJECTD,
DELETED → failed; UNKNOWN → unknown; ENROUTE and ACCEPTD are intermediate (the network has it,
no final word): the part stays `submitted`. A part's final status is never overwritten by a
later receipt, except `unknown`, which a later final receipt may still settle.

Roll-up, once every part of the message has a final status (until then it stays `submitted`):
all delivered → delivered; some delivered and others not → partial (reason: the first
undelivered part's state); none delivered → failed if any part failed (with that part's state
and error code), else expired if any expired, else unknown. Receipts for `unknown` messages
(the receipt wait ran out) still roll them up to delivered, partial or failed. A single-part
message (most of them) takes its one receipt's status directly, without reading its parts back.

MO messages are stored in `inbound_messages`; a text equal to an opt-out keyword (trimmed,
case- and diacritic-insensitive; setting `opt_out_keywords`) puts the sender on the SMS opt-out
list (source `keyword`, audited as `optout.add`) and is marked `handled_as = "opt_out"`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from flask import Flask
from sqlalchemy import Select, Update, bindparam, select, update

from dispatch import ledger, settings
from dispatch.audiences import optouts
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import InboundMessage, Message, MessagePart, MessageStatus, RawReceipt
from dispatch.models.common import utcnow
from dispatch.sqlbatch import any_of, in_param, insert_rows, postgres, set_by_id, values_param
from gateways.results import Inbound, Receipt
from gateways.smpp.delivery import Ack, DeliverEvent
from gateways.sms.plain import strip_diacritics

log = logging.getLogger(__name__)

S = MessageStatus

# Receipt state → final part status; states missing here (ENROUTE, ACCEPTD) are intermediate.
PART_STATUS: dict[str, MessageStatus] = {
    "DELIVRD": S.DELIVERED,
    "EXPIRED": S.EXPIRED,
    "UNDELIV": S.FAILED,
    "REJECTD": S.FAILED,
    "DELETED": S.FAILED,
    "UNKNOWN": S.UNKNOWN,
}
INTERMEDIATE = frozenset({"ENROUTE", "ACCEPTD"})
# A part in one of these may still take a final receipt.
_OPEN = (S.SUBMITTED, S.UNKNOWN)
_CHUNK = 1000  # values per IN (...)

_parts = MessagePart.__table__
_raw = RawReceipt.__table__
_messages = Message.__table__


class PartRef(NamedTuple):
    """The part an SMSC id names."""

    part_id: int
    message_id: int
    single: bool  # its message has this one part


@dataclass(frozen=True, slots=True)
class Hit:
    """A receipt matched to a part."""

    part_id: int
    message_id: int
    state: str
    error: str | None
    single: bool = False  # the message has this one part: its status is the part's


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


# -- matching and roll-up ----------------------------------------------------------------------


class _Statements(NamedTuple):
    parts_by_smsc_id: Select[Any]
    settle_parts: Update
    unmatched: Select[Any]


@lru_cache(maxsize=2)
def _statements(on_postgres: bool) -> _Statements:
    """The statements run for every batch, built once and run with parameters (building and
    keying a statement costs more than running it at these rates)."""
    account = bindparam("account", type_=_parts.c.account_id.type)
    return _Statements(
        parts_by_smsc_id=(
            select(_parts.c.smsc_id, _parts.c.id, _parts.c.message_id, _messages.c.parts)
            .join(_messages, _messages.c.id == _parts.c.message_id)
            .where(in_param(_parts.c.smsc_id, "smsc_ids", on_postgres),
                   _parts.c.account_id == account)
            .order_by(_parts.c.id)),
        settle_parts=(
            update(_parts)
            .where(in_param(_parts.c.id, "part_ids", on_postgres), _parts.c.status.in_(_OPEN))
            .values(status=bindparam("new_status", type_=_parts.c.status.type),
                    error_code=bindparam("new_error", type_=_parts.c.error_code.type),
                    receipt_at=bindparam("at", type_=_parts.c.receipt_at.type))),
        unmatched=(
            select(_raw.c.id, _raw.c.smsc_id, _raw.c.stat, _raw.c.err)
            .where(in_param(_raw.c.smsc_id, "smsc_ids", on_postgres),
                   _raw.c.account_id == bindparam("account", type_=_raw.c.account_id.type),
                   _raw.c.part_id.is_(None))),
    )


def parts_by_smsc_id(account_id: int, smsc_ids: Iterable[str]) -> dict[str, PartRef]:
    """smsc_id → its part for the account; the newest part when an id was reused."""
    wanted = sorted({i for i in smsc_ids if i})
    found: dict[str, PartRef] = {}
    on_postgres = postgres()
    stmt = _statements(on_postgres).parts_by_smsc_id
    for chunk in _chunks(wanted):
        params = {"smsc_ids": values_param(chunk, on_postgres), "account": account_id}
        for smsc_id, part_id, message_id, parts in db.session.execute(stmt, params):
            if smsc_id is not None:
                found[smsc_id] = PartRef(part_id, message_id, parts == 1)
    return found


def apply_hits(hits: Sequence[Hit], *, at: datetime | None = None) -> None:
    """Update the parts the receipts name, then roll their messages up (caller commits)."""
    at = at or utcnow()
    final: dict[tuple[MessageStatus, str | None], list[int]] = defaultdict(list)
    states: dict[int, str] = {}
    touched: set[int] = set()
    # Single-part messages: the first final receipt of the part decides, as it does the part's
    # status (the UPDATEs below run in first-seen order and leave a final part alone).
    direct: dict[tuple[MessageStatus, str | None, str | None], list[int]] = defaultdict(list)
    for hit in hits:
        status = PART_STATUS.get(hit.state)
        if status is None:
            continue  # ENROUTE / ACCEPTD: still on its way
        error = _clip(hit.error, 16)
        final[(status, error)].append(hit.part_id)
        if hit.part_id in states:
            continue
        states[hit.part_id] = hit.state
        if hit.single:
            target: tuple[MessageStatus, str | None, str | None] = (
                (status, None, None) if status is S.DELIVERED else (status, hit.state, error))
            direct[target].append(hit.message_id)
        else:
            touched.add(hit.message_id)
    # Grouped by outcome: a batch of receipts is a handful of UPDATEs, whatever its size.
    on_postgres = postgres()
    settle = _statements(on_postgres).settle_parts
    for (status, error), part_ids in final.items():
        for chunk in _chunks(sorted(set(part_ids))):
            db.session.execute(settle, {"part_ids": values_param(chunk, on_postgres),
                                        "new_status": status, "new_error": error, "at": at})
    for target, message_ids in direct.items():
        _move_rolled_up(target, message_ids, at)
    if touched:
        rollup(sorted(touched), states=states, at=at)


def rollup(message_ids: Sequence[int], *, states: dict[int, str] | None = None,
           at: datetime | None = None) -> int:
    """Give each message the status its parts add up to (see the module docstring)."""
    states = states or {}
    by_message: dict[int, list[tuple[int, MessageStatus, str | None]]] = defaultdict(list)
    for chunk in _chunks(list(message_ids)):
        stmt = (select(_parts.c.message_id, _parts.c.id, _parts.c.status, _parts.c.error_code)
                .where(any_of(_parts.c.message_id, chunk))
                .order_by(_parts.c.message_id, _parts.c.part_no))
        for message_id, part_id, status, error in db.session.execute(stmt):
            by_message[message_id].append((part_id, status, error))
    moves: dict[tuple[MessageStatus, str | None, str | None], list[int]] = defaultdict(list)
    for message_id, parts in by_message.items():
        target = _rolled_up(parts, states)
        if target is not None:
            moves[target].append(message_id)
    return sum(_move_rolled_up(target, ids, at) for target, ids in moves.items())


def _move_rolled_up(target: tuple[MessageStatus, str | None, str | None], ids: list[int],
                    at: datetime | None) -> int:
    """Messages to the status their parts add up to; expired/unknown only from `submitted` (a
    message `unknown` already stays so, and only a delivery or failure settles it)."""
    status, reason, error = target
    sources = [S.SUBMITTED] if status in (S.EXPIRED, S.UNKNOWN) else list(_OPEN)
    return ledger.move(ids, status, only_from=sources, reason=reason, error_code=error, at=at)


def _rolled_up(parts: list[tuple[int, MessageStatus, str | None]],
               states: dict[int, str]) -> tuple[MessageStatus, str | None, str | None] | None:
    statuses = [status for _, status, _ in parts]
    if S.SUBMITTED in statuses:
        return None  # a part has no final word yet
    if all(status is S.DELIVERED for status in statuses):
        return S.DELIVERED, None, None
    for wanted in (S.FAILED, S.EXPIRED, S.UNKNOWN):
        for part_id, status, error in parts:
            if status is wanted:
                reason = states.get(part_id) or status.value.upper()
                if S.DELIVERED in statuses:
                    return S.PARTIAL, reason, error
                return wanted, reason, error
    return None


def match_unmatched(account_id: int, smsc_ids: Iterable[str]) -> set[str]:
    """Match stored, unmatched receipts with these SMSC ids to their parts; return the ids matched.

    Called in the transaction that writes new parts (a receipt may have come before the
    submit_sm_resp was stored) and by the writer's retries. Runs in the caller's transaction.
    """
    wanted = sorted({i for i in smsc_ids if i})
    raws: list[tuple[int, str, str | None, str | None]] = []
    on_postgres = postgres()
    stmt = _statements(on_postgres).unmatched
    for chunk in _chunks(wanted):
        params = {"smsc_ids": values_param(chunk, on_postgres), "account": account_id}
        raws.extend(tuple(row) for row in db.session.execute(stmt, params))
    if not raws:
        return set()
    parts = parts_by_smsc_id(account_id, {smsc_id for _, smsc_id, _, _ in raws})
    hits: list[Hit] = []
    links: list[tuple[int, int]] = []
    for raw_id, smsc_id, stat, err in sorted(raws):  # in arrival order
        part = parts.get(smsc_id)
        if part is None:
            continue
        links.append((raw_id, part.part_id))
        hits.append(Hit(part.part_id, part.message_id, stat or "UNKNOWN", err, part.single))
    if links:
        set_by_id(_raw, "part_id", links, only_if_null=True)
        apply_hits(hits)
    return {smsc_id for _, smsc_id, _, _ in raws if smsc_id in parts}


# -- storing a batch of deliver_sm -------------------------------------------------------------


def fold_keyword(text: str) -> str:
    """'  Hủy ' → 'huy': how MO texts and opt-out keywords are compared."""
    return " ".join(strip_diacritics(text.replace("đ", "d").replace("Đ", "D")).casefold().split())


def store_batch(account_id: int, events: Sequence[DeliverEvent]) -> list[str]:
    """Store receipts and MO messages; return the SMSC ids of receipts left unmatched.

    Runs in the caller's transaction; the caller commits, then acknowledges the deliver_sm.
    """
    now = utcnow()
    receipts = [e for e in events if isinstance(e, Receipt)]
    unmatched: list[str] = []
    if receipts:
        parts = parts_by_smsc_id(account_id, (r.remote_id for r in receipts))
        rows: list[dict[str, Any]] = []
        hits: list[Hit] = []
        for receipt in receipts:
            smsc_id = (receipt.remote_id or "")[:64]
            part = parts.get(smsc_id)
            rows.append({"account_id": account_id, "smsc_id": smsc_id,
                         "stat": _clip(receipt.state, 16), "err": _clip(receipt.error, 16),
                         "body": receipt.raw, "received_at": now,
                         "part_id": part.part_id if part else None})
            if part is not None:
                hits.append(Hit(part.part_id, part.message_id, receipt.state, receipt.error,
                                part.single))
            elif smsc_id:
                unmatched.append(smsc_id)
        insert_rows(_raw, rows)
        apply_hits(hits, at=now)
    inbound = [e for e in events if isinstance(e, Inbound)]
    if inbound:
        keywords = {fold_keyword(k) for k in settings.get("opt_out_keywords") or []}
        for message in inbound:
            store_mo(account_id, message, keywords, now)
    return unmatched


def store_mo(account_id: int, message: Inbound, keywords: set[str], now: datetime) -> None:
    row = InboundMessage(account_id=account_id, source=message.source[:32],
                         destination=message.destination[:32], text=message.text,
                         received_at=message.received_at or now, handled_as="ignored")
    if fold_keyword(message.text) in keywords:
        try:
            optouts.add_opt_out(
                "sms", message.source, source="keyword", actor=None, exist_ok=True,
                reason=f"Replied {message.text.strip()!r} to {message.destination}")
            row.handled_as = "opt_out"
        except ValidationFailed:
            row.handled_as = "bad_source"  # not a number we could ever send to
    db.session.add(row)


# -- the writer thread -------------------------------------------------------------------------


class ReceiptWriter:
    """Stores one account's receipts and MO in batches on a thread of its own (see module doc).

    `hold(smsc_id)` says a submit_sm_resp with that id was just received in this process and its
    part is about to be written: such a receipt waits (unacknowledged, up to `HOLD` seconds) so
    it is stored already matched, which costs far less than matching it afterwards.
    """

    RETRY_AFTER = (0.5, 2.0, 5.0, 15.0, 40.0)  # s after storing: unmatched receipts tried again
    HOLD = 0.5

    def __init__(self, app: Flask, account_id: int, *, batch: int = 500,
                 linger: float = 0.02, hold: Callable[[str], bool] | None = None) -> None:
        self.app = app
        self.account_id = account_id
        self.batch = batch
        self.linger = linger
        self.hold = hold
        self._queue: queue.SimpleQueue[tuple[DeliverEvent, Ack] | None] = queue.SimpleQueue()
        self._retries: list[tuple[float, int, str]] = []  # (due, attempt, smsc_id)
        self._held: list[tuple[float, DeliverEvent, Ack]] = []  # (until, event, ack)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.stored = 0
        self.failures = 0

    def on_deliver_later(self, event: DeliverEvent, ack: Ack) -> None:
        """The session's hook: called on its reader thread, so only queue the event."""
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

    def _take(self, wait: float) -> tuple[list[tuple[DeliverEvent, Ack]], bool]:
        """The next batch and whether the writer was told to stop."""
        items: list[tuple[DeliverEvent, Ack]] = []
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

    def _sort(self, items: list[tuple[DeliverEvent, Ack]],
              release_all: bool = False) -> list[tuple[DeliverEvent, Ack]]:
        """Hold back receipts whose part is being written; return what to store now."""
        now = time.monotonic()
        ready: list[tuple[DeliverEvent, Ack]] = []
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

    def _store(self, items: list[tuple[DeliverEvent, Ack]]) -> None:
        try:
            unmatched = store_batch(self.account_id, [event for event, _ in items])
            db.session.commit()
        except Exception:
            db.session.rollback()
            self.failures += 1
            log.exception("receipts %s: storing %d events failed; the SMSC will redeliver them",
                          self.account_id, len(items))
            for _, ack in items:
                ack(False)
            time.sleep(min(2.0, 0.1 * self.failures))  # a database that is down: no hot loop
            return
        self.failures = 0
        self.stored += len(items)
        for _, ack in items:
            ack(True)
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
            matched = match_unmatched(self.account_id, [smsc_id for _, _, smsc_id in due])
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("receipts %s: matching stored receipts failed", self.account_id)
            matched = set()
        for _, attempt, smsc_id in due:
            if smsc_id not in matched and attempt + 1 < len(self.RETRY_AFTER):
                # Later than this, the sender's own matching finds it when it writes the part.
                self._retries.append((now + self.RETRY_AFTER[attempt + 1], attempt + 1, smsc_id))
