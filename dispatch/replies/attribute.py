"""Which campaign an MO answers, and what it says: MO rows become replies, a batch at a time.

An MO is attributed to the most recent campaign that asked for an answer (`reply_mode` not
none), reached that number by SMS (a ledger row with `address` the number, in a status that
means it left for the SMSC or the phone) on this account or on a route of this account's
operators, and whose reply window (`reply_days` from its launch) is still open when the MO came.
Otherwise the reply is `unattributed`, or `stranger` when Loa never sent that number anything.

The receipt writer stores MO first and answers the SMSC (dispatch.sms.inbound: the rows it
writes are marked `reply_pending`); the smpp process's reply attributor (dispatch.sms.attributor)
then makes their replies, oldest first, in batches of up to 500 (`attribute_pending`): the
replies, the counts they change, the acknowledgements they queue and the end of the mark are one
transaction, so a restart finds what is left by the mark and attributes each message once.
Attribution decides with what earlier replies say (the daily limit, "the last answer
counts"), so it runs one batch at a time across all processes: on PostgreSQL a transaction
advisory lock (`ATTRIBUTION_LOCK`) is taken first, and the batch reads what the previous one
committed.

A batch costs a few statements whatever its size (ledger candidates and their campaigns, the
numbers ever sent to, contacts, the numbers' earlier replies, one INSERT of the replies), none
per MO, and none whose cost grows with the replies stored: every lookup is an index probe per number
(docs/BENCHMARKS.md, "replies", for what a scan per batch cost). Acknowledgement campaigns ask
for nothing, so an answer to an acknowledgement can never be attributed to it: an
auto-responder cannot start a loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Select, or_, select, text, update

from dispatch.audiences import msisdn as numbers
from dispatch.extensions import db
from dispatch.hooks import events
from dispatch.models import (
    Campaign,
    Contact,
    InboundMessage,
    Message,
    MessageStatus,
    SmppAccount,
)
from dispatch.models.common import utcnow
from dispatch.models.replies import Reply
from dispatch.models.sqlbatch import (
    any_of,
    array_literal,
    insert_rows,
    insert_rows_with_ids,
    postgres,
)
from dispatch.replies import ack
from dispatch.replies.parse import choice_index, fold, match_folded
from dispatch.sms.inbound import NO_REPLY, storable

S = MessageStatus
# The ledger statuses that mean the message left Loa for the SMSC or reached the phone.
REACHED = (S.SUBMITTED, S.DELIVERED, S.PARTIAL, S.UNKNOWN, S.EXPIRED)
MAX_WINDOW_DAYS = 30  # the longest reply window the composer allows (replies.ask.MAX_DAYS)
DEFAULT_DAILY_LIMIT = 20
_replies = Reply.__table__
_inbound = InboundMessage.__table__
# pg_advisory_xact_lock key of reply attribution ("LOAR"): one batch at a time (module doc).
ATTRIBUTION_LOCK = 0x4C4F4152


def daily_limit() -> int:
    """Replies a number may send a day that still count (setting LOA_REPLY_DAILY_LIMIT)."""
    return int(current_app.config.get("REPLY_DAILY_LIMIT", DEFAULT_DAILY_LIMIT))


@dataclass(slots=True)
class NewReply:
    """A `replies` row an MO batch writes, as plain values: the batch is written in one
    statement after it is attributed, limited and acknowledged (ORM objects cost more per row
    than the rest of the reply). `ack.acknowledge` and `received` read it as they read a
    Reply."""

    inbound_id: int
    msisdn: str | None
    account_id: int
    operator: str | None
    contact_id: int | None
    locality_id: int | None
    text: str
    text_folded: str
    received_at: datetime
    campaign_id: int | None = None
    message_id: int | None = None
    kind: str = "free"
    choice: str | None = None
    counted: bool = False
    over_limit: bool = False
    ack: str = "none"
    channel: str = "sms"
    id: int | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        return {"channel": self.channel, "inbound_id": self.inbound_id, "msisdn": self.msisdn,
                "account_id": self.account_id, "operator": self.operator,
                "contact_id": self.contact_id, "locality_id": self.locality_id,
                "campaign_id": self.campaign_id, "message_id": self.message_id,
                "text": self.text, "text_folded": self.text_folded, "kind": self.kind,
                "choice": self.choice, "counted": self.counted, "over_limit": self.over_limit,
                "ack": self.ack, "state": "new", "received_at": self.received_at,
                "updated_at": now}


@dataclass(slots=True)
class StoredMo:
    """What a reply is made of, of a stored `inbound_messages` row."""

    id: int
    account_id: int
    source: str
    text: str
    received_at: datetime
    handled_as: str
    parts: int
    parts_received: int


def attribute_pending(*, limit: int = 500) -> int:
    """Make the replies of up to `limit` MO messages still `reply_pending`, oldest first, and
    end their mark (caller commits); return how many messages were taken."""
    rows = take_pending(limit)
    attribute(rows)
    return len(rows)


def take_pending(limit: int, ids: Sequence[int] | None = None) -> list[StoredMo]:
    """The oldest MO messages still `reply_pending` (of `ids`, if given), once this
    transaction has the attribution to itself (module docstring)."""
    serialise()
    return [StoredMo(*row) for row in db.session.execute(pending_query(limit, ids))]


def pending_query(limit: int, ids: Sequence[int] | None = None) -> Select:
    """The look for marked messages: through the partial index of marked ones, whatever the
    table holds (`WHERE reply_pending`, not `IS TRUE`, which the index's predicate does not
    match, and which made every look a scan of the table)."""
    m = _inbound.c
    query = (select(m.id, m.account_id, m.source, m.text, m.received_at, m.handled_as,
                    m.parts, m.parts_received)
             .where(m.reply_pending).order_by(m.id).limit(limit))
    if ids is not None:
        query = query.where(any_of(m.id, list(ids)))
    return query


def serialise() -> None:
    """Wait until no other transaction attributes replies, and hold that until this one ends
    (PostgreSQL; SQLite has one writer at a time anyway)."""
    if postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": ATTRIBUTION_LOCK})


def attribute(rows: Sequence[StoredMo]) -> None:
    """Make the replies of these pending MO messages and end their mark (caller commits)."""
    by_account: dict[int, list[StoredMo]] = {}
    for row in rows:  # in the order taken: each account's oldest first
        by_account.setdefault(row.account_id, []).append(row)
    now = utcnow()
    for account_id, mine in by_account.items():
        record_mo(account_id, mine, now)
    give_up([r.id for r in rows])


def give_up(ids: Sequence[int]) -> None:
    """End the mark of these MO messages (caller commits): once attributed, or when a reply
    cannot be made of one, which then stays stored with none rather than hold up the rest."""
    if ids:
        db.session.execute(update(_inbound).where(any_of(_inbound.c.id, list(ids)))
                           .values(reply_pending=False))


def record_mo(account_id: int, rows: Sequence[StoredMo], now: datetime) -> list[NewReply]:
    """Make a reply of every stored MO row of a batch and write them (caller commits); return
    them."""
    rows = [r for r in rows if r.handled_as not in NO_REPLY]
    if not rows:
        return []
    parsed = [(row, numbers.normalise(row.source)) for row in rows]
    wanted = sorted({p.msisdn for _, p in parsed if p.msisdn})
    account = db.session.get(SmppAccount, account_id)
    routes = set(account.operators or []) if account is not None else set()
    asked = _asked(wanted, account_id, routes, now)
    ever = _ever_sent(wanted)
    contacts = _contacts(wanted)
    history = _history(wanted, now)
    today = history.today
    limit = daily_limit()
    made: list[NewReply] = []
    for row, number in sorted(parsed, key=lambda p: (p[0].received_at, p[0].id)):
        e164 = number.msisdn
        at = row.received_at or now
        contact = contacts.get(e164) if e164 else None
        folded = fold(row.text)
        reply = NewReply(inbound_id=row.id, msisdn=e164, account_id=account_id,
                         operator=(contact[2] if contact else None) or number.operator,
                         contact_id=contact[0] if contact else None,
                         locality_id=contact[1] if contact else None,
                         text=storable(row.text), text_folded=folded, received_at=at)
        hit = _latest(asked.get(e164 or "", []), at)
        if hit is not None:
            reply.campaign_id, reply.message_id = hit["campaign_id"], hit["message_id"]
        if e164:
            today[e164] = today.get(e164, 0) + 1
            reply.over_limit = today[e164] > limit
        if row.handled_as == "opt_out":
            reply.kind = "opt_out"
        elif hit is None:
            reply.kind = "unattributed" if e164 in ever else "stranger"
        elif hit["reply_mode"] == "survey" and row.parts_received >= row.parts:
            reply.choice = match_folded(folded, hit["index"])
            reply.kind = "answer" if reply.choice else "free"
        else:
            reply.kind = "free"
        reply.counted = reply.kind == "answer" and not reply.over_limit
        made.append(reply)
    _last_counts(made, history.counted)
    ack.acknowledge(made, now)
    _write(made, now)
    received(made)
    return made


def _write(made: list[NewReply], now: datetime) -> None:
    """One INSERT for the batch's replies; their ids only when an event will name them."""
    rows = [reply.row(now) for reply in made]
    if events.wanted(events.REPLY_RECEIVED) or events.wanted(events.SURVEY_ANSWERED):
        for reply, reply_id in zip(made, insert_rows_with_ids(_replies, rows), strict=True):
            reply.id = reply_id
    else:
        insert_rows(_replies, rows)


def received(given: Sequence[Reply] | Sequence[NewReply]) -> None:
    """The one place new and changed replies pass before their transaction commits: their
    `reply.received` events, and `survey.answered` for those counted as an answer (webhooks;
    nothing is written when no hook wants them)."""
    replies: list[Reply | NewReply] = list(given)
    wants_reply, wants_answer = events.wanted(events.REPLY_RECEIVED), \
        events.wanted(events.SURVEY_ANSWERED)
    if not replies or not (wants_reply or wants_answer):
        return
    if any(r.id is None for r in replies):
        db.session.flush()  # the events name the replies by id
    data = [{"reply_id": r.id, "campaign_id": r.campaign_id, "channel": r.channel,
             "kind": r.kind, "choice": r.choice, "number": events.mask(r.msisdn),
             "received_at": r.received_at.isoformat() if r.received_at else None}
            for r in replies]
    if wants_reply:
        events.emit_many(events.REPLY_RECEIVED, data)
    if wants_answer:
        events.emit_many(events.SURVEY_ANSWERED,
                         [d for d, r in zip(data, replies, strict=True)
                          if r.kind == "answer" and r.counted])


def _asked(wanted: list[str], account_id: int, routes: set[str],
           now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Per number, the campaigns asking back that reached it here or on this account's routes."""
    if not wanted:
        return {}
    m, c = Message, Campaign
    rows = db.session.execute(
        select(m.id, m.address, m.campaign_id, m.account_id, m.operator)
        .join(c, c.id == m.campaign_id)
        .where(m.channel == "sms", any_of(m.address, wanted), m.status.in_(REACHED),
               c.reply_mode != "none", c.launched_at.is_not(None),
               c.launched_at >= now - timedelta(days=MAX_WINDOW_DAYS + 1))).all()
    rows = [r for r in rows if r.account_id == account_id or r.operator in routes]
    # The campaigns' own columns once each, not once per ledger row (a survey is JSON).
    campaigns: dict[int, dict[str, Any]] = {}
    if rows:
        for row in db.session.execute(
                select(c.id, c.launched_at, c.reply_days, c.reply_mode, c.survey).where(
                    any_of(c.id, sorted({r.campaign_id for r in rows})))):
            campaigns[row.id] = {
                "campaign_id": row.id, "reply_mode": row.reply_mode,
                "launched_at": row.launched_at,
                "until": row.launched_at + timedelta(days=row.reply_days),
                "index": choice_index(row.survey or {})}
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.address, []).append(
            {"message_id": row.id, **campaigns[row.campaign_id]})
    return found


def _latest(candidates: list[dict[str, Any]], at: datetime) -> dict[str, Any] | None:
    open_ = [c for c in candidates if c["launched_at"] <= at < c["until"]]
    return max(open_, key=lambda c: (c["launched_at"], c["campaign_id"]), default=None)


def _ever_sent(wanted: list[str]) -> set[str]:
    if not wanted:
        return set()
    return set(db.session.scalars(select(Message.address).distinct().where(
        Message.channel == "sms", any_of(Message.address, wanted))))


def _contacts(wanted: list[str]) -> dict[str, tuple[int, int | None, str]]:
    if not wanted:
        return {}
    return {r.msisdn: (r.id, r.locality_id, r.operator_override or r.operator)
            for r in db.session.execute(
                select(Contact.id, Contact.msisdn, Contact.locality_id, Contact.operator,
                       Contact.operator_override).where(any_of(Contact.msisdn, wanted)))}


class _History(NamedTuple):
    today: dict[str, int]  # replies per number in the last 24 hours, before this batch
    counted: dict[tuple[int, str], list[int]]  # (campaign, number) -> its counted replies


# Per number, its replies of the last day and those counted, by the index on
# (msisdn, received_at): one probe per number, planned for one number (a scalar array over
# all of them is estimated from statistics, and a replies table that grew since its last
# ANALYZE, as a survey's first hour makes it, got a scan of every reply for every batch).
_HISTORY_PG = text(
    "SELECT r.id, r.msisdn, r.campaign_id, r.counted, r.received_at "
    "FROM unnest(CAST(:numbers AS VARCHAR[])) AS n(msisdn) CROSS JOIN LATERAL ("
    "SELECT id, msisdn, campaign_id, counted, received_at FROM replies "
    "WHERE msisdn = n.msisdn AND received_at >= :window AND (counted OR received_at >= :since) "
    "OFFSET 0) AS r")


def _history(wanted: list[str], now: datetime) -> _History:
    """What the daily limit and "the last answer counts" need of the numbers' earlier replies."""
    history = _History({}, {})
    if not wanted:
        return history
    since = now - timedelta(days=1)
    # A counted answer is in its campaign's reply window, as the new one is: no older than
    # the longest window (so an abuser's years of replies are not read at every batch).
    window = now - timedelta(days=MAX_WINDOW_DAYS + 1)
    if postgres():
        rows = db.session.execute(_HISTORY_PG, {"numbers": array_literal(wanted),
                                                "since": since, "window": window}).all()
    else:
        r = Reply
        rows = db.session.execute(
            select(r.id, r.msisdn, r.campaign_id, r.counted, r.received_at).where(
                any_of(r.msisdn, wanted), r.received_at >= window,
                or_(r.counted.is_(True), r.received_at >= since))
        ).all()
    for row in rows:  # received_at aware on both (timestamptz, UTCDateTime)
        if row.received_at >= since:
            history.today[row.msisdn] = history.today.get(row.msisdn, 0) + 1
        if row.counted and row.campaign_id is not None:
            history.counted.setdefault((row.campaign_id, row.msisdn), []).append(row.id)
    return history


def _last_counts(made: list[NewReply], counted: dict[tuple[int, str], list[int]]) -> None:
    """The last answer of a number counts: within the batch, and over earlier batches (whose
    counted replies `_history` found)."""
    last: dict[tuple[int, str], NewReply] = {}
    for reply in made:  # in the order received
        if reply.counted and reply.campaign_id is not None and reply.msisdn:
            earlier = last.get((reply.campaign_id, reply.msisdn))
            if earlier is not None:
                earlier.counted = False
            last[(reply.campaign_id, reply.msisdn)] = reply
    ids = sorted(i for key in last for i in counted.get(key, []))
    if ids:
        db.session.execute(update(Reply).where(any_of(Reply.id, ids), Reply.counted.is_(True))
                           .values(counted=False).execution_options(synchronize_session=False))
