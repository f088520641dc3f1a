"""Store-first receipts and MO messages from the SMSC, matched to the ledger in batches.

The session hands every deliver_sm to `ReceiptWriter.on_deliver_later(event, ack)` on its reader
thread; the writer thread stores a batch in one transaction and only then acknowledges each
deliver_sm (`ack(True)`); when the database is away it refuses them (`ack(False)`: the SMSC
delivers them again), and when one event makes a batch fail it stores them one by one, so the
others go through (dispatch.sms.writer). Storing is idempotent: a redelivered receipt
is stored again as received (`raw_receipts` keeps every copy) and changes nothing else.

Matching: a receipt names the SMSC id of one part; `(account_id, smsc_id)` finds the
`message_parts` row. A receipt is stored at once, matched or not. The writer waits for the
link's recorder to write the parts of the responses that came before (dispatch.sms.writer), so
nearly every receipt finds its part as it is stored; one that does not (its part written by
another process, or later than the writer would wait) is kept unmatched in `raw_receipts` and
matched by the writer's sweep (`match_stored`, every second). Nothing waits in memory: a
receipt is never dropped (DESIGN.md, 5).

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
list (source `keyword`, audited as `optout.add`) and is marked `handled_as = "opt_out"`; the
parts of concatenated MO are stored as they come and joined from storage (dispatch.sms.inbound).
The writer thread that calls `store_batch` is dispatch.sms.writer.

Receipts that match nothing are purged once the receipt wait is over (`purge_unmatched`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, Update, bindparam, delete, select, update

from dispatch.campaigns import settings
from dispatch.engine import ledger
from dispatch.extensions import db
from dispatch.models import Message, MessagePart, MessageStatus, RawReceipt
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import (
    any_of,
    chunks,
    in_param,
    insert_rows,
    postgres,
    set_by_id,
    values_param,
)
from dispatch.sms.inbound import fold_keyword, mo_row, storable, store_fragments, write_mo
from gateways.results import Fragment, Inbound, Receipt
from gateways.smpp import DeliverEvent

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


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


# -- matching and roll-up ----------------------------------------------------------------------


class _Statements(NamedTuple):
    parts_by_smsc_id: Select[Any]
    settle_parts: Update


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
    )


def parts_by_smsc_id(account_id: int, smsc_ids: Iterable[str]) -> dict[str, PartRef]:
    """smsc_id → its part for the account; the newest part when an id was reused."""
    wanted = sorted({i for i in smsc_ids if i})
    found: dict[str, PartRef] = {}
    on_postgres = postgres()
    stmt = _statements(on_postgres).parts_by_smsc_id
    for chunk in chunks(wanted, _CHUNK):
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
        for chunk in chunks(sorted(set(part_ids)), _CHUNK):
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
    for chunk in chunks(list(message_ids), _CHUNK):
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


def match_stored(account_id: int, since: datetime, *, limit: int = 5000) -> int:
    """Match this account's unmatched receipts (received since `since`) whose part exists now;
    return how many. The sweep for what the parts' own transaction could not see; runs in the
    caller's transaction."""
    has_part = (select(_parts.c.id)
                .where(_parts.c.smsc_id == _raw.c.smsc_id, _parts.c.account_id == account_id)
                .exists())
    stmt = (select(_raw.c.id, _raw.c.smsc_id, _raw.c.stat, _raw.c.err)
            .where(_raw.c.account_id == account_id, _raw.c.part_id.is_(None),
                   _raw.c.received_at >= since, _raw.c.unreadable.is_(False), has_part)
            .order_by(_raw.c.id).limit(limit))
    raws: list[tuple[int, str, str | None, str | None]] = [
        (raw_id, smsc_id, stat, err) for raw_id, smsc_id, stat, err in db.session.execute(stmt)]
    matched = _match(account_id, raws)
    return sum(1 for _, smsc_id, _, _ in raws if smsc_id in matched)


def _match(account_id: int, raws: list[tuple[int, str, str | None, str | None]]) -> set[str]:
    """Link stored receipts to the parts their ids name and apply them; return the ids matched."""
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


def store_batch(account_id: int, events: Sequence[DeliverEvent]) -> list[str]:
    """Store receipts, MO messages and MO parts; return the SMSC ids of receipts left unmatched.

    Runs in the caller's transaction; the caller commits, then acknowledges the deliver_sm.
    Texts are made storable first (`inbound.storable`: no NUL reaches the database) and the
    octets kept beside them.
    """
    now = utcnow()
    receipts = [e for e in events if isinstance(e, Receipt)]
    unmatched: list[str] = []
    if receipts:
        smsc_ids = [storable(r.remote_id or "")[:64] for r in receipts]
        parts = parts_by_smsc_id(account_id, smsc_ids)
        rows: list[dict[str, Any]] = []
        hits: list[Hit] = []
        for receipt, smsc_id in zip(receipts, smsc_ids, strict=True):
            part = parts.get(smsc_id)
            rows.append({"account_id": account_id, "smsc_id": smsc_id,
                         "stat": _clip(receipt.state, 16), "err": _clip(receipt.error, 16),
                         "body": storable(receipt.raw), "received_at": now,
                         "part_id": part.part_id if part else None,
                         "payload": receipt.payload or None, "unreadable": False})
            if part is not None:
                hits.append(Hit(part.part_id, part.message_id, receipt.state, receipt.error,
                                part.single))
            elif smsc_id:
                unmatched.append(smsc_id)
        insert_rows(_raw, rows)
        apply_hits(hits, at=now)
    inbound = [e for e in events if isinstance(e, Inbound)]
    fragments = [e for e in events if isinstance(e, Fragment)]
    if inbound or fragments:
        keywords = opt_out_keywords()
        rows = [mo_row(account_id, message, keywords, now) for message in inbound]
        rows += store_fragments(account_id, fragments, keywords, now)
        write_mo(rows)  # their replies follow, once the SMSC is answered (sms.attributor)
    return unmatched


def opt_out_keywords() -> set[str]:
    return {fold_keyword(k) for k in settings.get("opt_out_keywords") or []}


def purge_unmatched(account_id: int, older_than: datetime, *, batch: int = 5000) -> int:
    """Delete this account's receipts that matched nothing and came before `older_than` (the
    receipt wait: by then no part can still be written for them, so they name ids Loa never
    issued); return how many. Unreadable ones are kept (they are evidence, and few). Deletes in
    batches, each committed, so a large backlog never holds a long transaction."""
    total = 0
    while True:
        ids = db.session.scalars(
            select(_raw.c.id).where(_raw.c.account_id == account_id, _raw.c.part_id.is_(None),
                                    _raw.c.received_at < older_than,
                                    _raw.c.unreadable.is_(False))
            .limit(batch)).all()
        if not ids:
            return total
        db.session.execute(delete(_raw).where(any_of(_raw.c.id, ids)))
        db.session.commit()
        total += len(ids)
