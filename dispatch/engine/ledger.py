"""Message status transitions: the one place that says which moves are legal.

Bulk moves are guarded in SQL (`WHERE status IN (<allowed sources>)`), so two workers racing for
the same rows cannot both win: the affected row count says who did. This is the claim mechanism the
senders build on. The ids go as one array parameter on PostgreSQL
(`dispatch.models.sqlbatch.in_param`): the senders move hundreds at a time, many times a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Update, bindparam, literal_column, or_, select, update

from dispatch.campaigns import kinds
from dispatch.errors import InvalidTransition
from dispatch.extensions import db
from dispatch.hooks import events as hook_events
from dispatch.models import Campaign, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.ledger import FINAL
from dispatch.models.sqlbatch import any_of, in_param, postgres, values_param

S = MessageStatus
# Statements on the table, not the mapped class: the ORM's bulk-update layer costs more CPU than
# the statement itself at the rate the senders move rows, and these never touch loaded objects.
_messages = Message.__table__

ALLOWED: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.PENDING: frozenset({S.QUEUED, S.SUPPRESSED, S.CANCELLED, S.EXPIRED}),
    S.QUEUED: frozenset({S.SENDING, S.CANCELLED, S.EXPIRED}),
    # A retryable error before anything reached the wire puts the row back in the queue.
    S.SENDING: frozenset({S.SUBMITTED, S.FAILED, S.UNKNOWN, S.QUEUED}),
    S.SUBMITTED: frozenset({S.DELIVERED, S.PARTIAL, S.FAILED, S.EXPIRED, S.UNKNOWN}),
    # A receipt arriving after the receipt wait turned the row unknown still tells the truth.
    S.UNKNOWN: frozenset({S.DELIVERED, S.PARTIAL, S.FAILED, S.QUEUED}),
    # Only the explicit, audited "retry failed/unknown" action moves these back to queued.
    S.FAILED: frozenset({S.QUEUED}),
    S.DELIVERED: frozenset(),
    S.PARTIAL: frozenset(),
    S.EXPIRED: frozenset(),
    S.SUPPRESSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Which timestamp column records arrival in a status.
_STAMP = {
    S.QUEUED: "queued_at",
    S.SENDING: "sending_at",
    S.SUBMITTED: "submitted_at",
}


def can_move(old: MessageStatus, new: MessageStatus) -> bool:
    return new in ALLOWED[old]


def check_move(old: MessageStatus, new: MessageStatus) -> None:
    if not can_move(old, new):
        raise InvalidTransition(f"A message cannot go from {old.value} to {new.value}.")


def sources_of(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which `new` may be reached."""
    return frozenset(old for old, targets in ALLOWED.items() if new in targets)


def move(
    ids: Sequence[int] | Iterable[int],
    new: MessageStatus,
    *,
    only_from: Iterable[MessageStatus] | None = None,
    reason: str | None = None,
    error_code: str | None = None,
    at: datetime | None = None,
) -> int:
    """Move the given rows to `new` where their current status allows it; return how many moved.

    `only_from` narrows the legal sources further (e.g. retry moves only `failed`/`unknown`).
    Runs in the caller's transaction; the caller commits.
    """
    ids = list(ids)
    if not ids:
        return 0
    sources = sources_of(new)
    if only_from is not None:
        wanted = frozenset(only_from)
        illegal = wanted - sources
        if illegal:
            names = ", ".join(sorted(s.value for s in illegal))
            raise InvalidTransition(f"A message cannot go from {names} to {new.value}.")
        sources = wanted
    on_postgres = postgres()
    # A webhook event for the rows that became delivered/failed, only when a hook wants it:
    # else the statement is the plain UPDATE, with nothing returned (dispatch.hooks.events).
    event = _EVENTS.get(new)
    tell = event is not None and hook_events.wanted(event)
    stmt = _move_sql(on_postgres, new, sources, reason is not None, error_code is not None,
                     tell)
    when = at or utcnow()
    params: dict[str, object] = {"ids": values_param(ids, on_postgres), "at": when}
    if reason is not None:
        params["new_reason"] = reason
    if error_code is not None:
        params["new_error_code"] = error_code
    if not tell or event is None:
        return db.session.execute(stmt, params).rowcount or 0  # type: ignore[attr-defined]
    moved = db.session.execute(stmt, params).all()
    # A test send's messages are no event for the systems listening (dispatch.campaigns.kinds).
    tests = set(db.session.scalars(kinds.not_counted_ids().where(
        any_of(Campaign.id, sorted({m.campaign_id for m in moved}))))) if moved else set()
    hook_events.emit_many(event, [
        {"message_id": m.id, "campaign_id": m.campaign_id, "channel": m.channel,
         "status": new.value, "number": hook_events.mask(m.address), "reason": m.reason,
         "error_code": m.error_code, "at": when.isoformat()}
        for m in moved if m.campaign_id not in tests])
    return len(moved)


_EVENTS = {S.DELIVERED: hook_events.MESSAGE_DELIVERED, S.FAILED: hook_events.MESSAGE_FAILED}


# The statements of `move` and `claim` are built once per shape and run with parameters: at the
# rate the senders move rows, building and keying a statement costs more than running it.

@lru_cache(maxsize=128)
def _move_sql(on_postgres: bool, new: MessageStatus, sources: frozenset[MessageStatus],
              reason: bool, error_code: bool, returning: bool = False) -> Update:
    at = bindparam("at", type_=_messages.c.finished_at.type)
    values: dict[str, object] = {"status": new}
    if new in _STAMP:
        values[_STAMP[new]] = at
    if new in FINAL:
        values["finished_at"] = at
    if reason:
        values["reason"] = bindparam("new_reason", type_=_messages.c.reason.type)
    if error_code:
        values["error_code"] = bindparam("new_error_code", type_=_messages.c.error_code.type)
    if new is S.QUEUED:
        values["finished_at"] = None
    stmt = (update(_messages)
            .where(in_param(_messages.c.id, "ids", on_postgres),
                   _messages.c.status.in_(sorted(sources)))
            .values(**values))
    if returning:
        m = _messages.c
        stmt = stmt.returning(m.id, m.campaign_id, m.channel, m.address, m.reason, m.error_code)
    return stmt


@lru_cache(maxsize=2)
def _claim_sql(on_postgres: bool) -> Update:
    return (update(_messages)
            .where(in_param(_messages.c.id, "ids", on_postgres), _messages.c.status == S.QUEUED)
            .values(status=S.SENDING,
                    sending_at=bindparam("at", type_=_messages.c.sending_at.type),
                    attempts=_messages.c.attempts + 1)
            .returning(_messages.c.id))


def claim(ids: Sequence[int] | Iterable[int], *, at: datetime | None = None) -> list[int]:
    """Move `queued` rows to `sending` and return the ids this caller won.

    The exactly-once point of the pipeline: a row is submitted only by whoever claimed it, and a
    guarded UPDATE … RETURNING lets only one claimer win each row, whatever runs concurrently
    (PostgreSQL row locks; SQLite's single writer). Runs in the caller's transaction; commit
    before submitting anything.
    """
    ids = list(ids)
    if not ids:
        return []
    on_postgres = postgres()
    params = {"ids": values_param(ids, on_postgres), "at": at or utcnow()}
    return sorted(db.session.scalars(_claim_sql(on_postgres), params).all())


@lru_cache(maxsize=1)
def _claim_next_sql() -> Update:
    m = _messages
    at = bindparam("at", type_=m.c.sending_at.type)
    # The oldest claimable rows of one campaign on one account, over ix_messages_queued_claim;
    # on PostgreSQL rows another claimer holds are skipped, not waited for (SQLite has one
    # writer and no FOR UPDATE: the clause is dropped there). `queued_at` in the future: a
    # retryable refusal put the row back for later (dispatch.sms.recorder).
    # A materialised CTE, run once: as `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`
    # PostgreSQL's plan may run the subquery again per row and claim far more than n.
    picked = (select(m.c.id)
              .where(m.c.campaign_id == bindparam("campaign"),
                     m.c.account_id == bindparam("account"), m.c.id > bindparam("after"),
                     # A literal, not a parameter: a generic plan (psycopg prepares the statement
                     # after five runs) can then use the partial index; with `status = $3` it
                     # walked the primary key or sorted every queued row of the campaign (40 ms
                     # against 0.5 ms a claim at 50,000 queued, measured).
                     m.c.status == literal_column(f"'{S.QUEUED.value}'"),
                     or_(m.c.queued_at.is_(None), m.c.queued_at <= at))
              .order_by(m.c.id).limit(bindparam("n"))
              .with_for_update(skip_locked=True)
              .cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
    # No second `status = 'queued'` on the UPDATE: the CTE's FOR UPDATE has locked each row and
    # re-checked its status (SQLite: one writer), so it would only guard what cannot happen, and
    # it let the planner drive the join from the partial index instead of from the n picked ids:
    # with statistics older than the rows (during expansion, before its ANALYZE) each claim
    # walked every queued row per picked id, 65 ms a claim of 100 at 30,000 queued (measured).
    return (update(m)
            .where(m.c.id == picked.c.id)
            .values(status=S.SENDING, sending_at=at, attempts=m.c.attempts + 1)
            .returning(m.c.id, m.c.address, m.c.attempts, m.c.parts))


def claim_next(campaign_id: int, account_id: int, n: int, *, after: int = 0,
               at: datetime | None = None) -> list[tuple[int, str | None, int, int]]:
    """Claim up to `n` of the campaign's `queued` rows routed to `account_id`, oldest first:
    (id, address, attempts with this claim, parts), in id order.

    How the smpp process takes its work from the ledger: several processes (hosts) claiming
    for one account at once each get different rows (FOR UPDATE SKIP LOCKED). Runs in the
    caller's transaction; commit before submitting anything.

    `after`: only rows with a greater id. Claimed rows leave dead entries in the partial index
    until vacuum, and a scan from the start walks them all: a caller that keeps the last id it
    claimed seeks past them (measured: with 20,000 rows of an earlier campaign, claims from the
    start made PostgreSQL the bottleneck at 1,511 msg/s).
    """
    if n <= 0:
        return []
    params = {"campaign": campaign_id, "account": account_id, "n": n, "after": after,
              "at": at or utcnow()}
    rows = db.session.execute(_claim_next_sql(), params).all()
    return sorted((r[0], r[1], r[2], r[3]) for r in rows)


def age_out(campaign_id: int, status: MessageStatus, before: datetime, *, reason: str,
            channel: str | None = None) -> int:
    """Rows of a campaign still `sending`/`submitted` since before `before` become `unknown`.

    Their fate is unknowable (the claimer died, or no receipt came): never resent on their own.
    """
    stamp = {S.SENDING: Message.sending_at, S.SUBMITTED: Message.submitted_at}[status]
    check_move(status, S.UNKNOWN)
    stmt = (
        update(Message)
        .where(Message.campaign_id == campaign_id, Message.status == status, stamp < before)
        .values(status=S.UNKNOWN, reason=reason, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if channel is not None:
        stmt = stmt.where(Message.channel == channel)
    return db.session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]


def still_in(ids: Sequence[int], status: MessageStatus) -> set[int]:
    """Those of `ids` whose row is in `status` now: after a COMMIT whose answer was lost, what
    the earlier attempt did not write (rows a sender claimed stay `sending` until it does)."""
    if not ids:
        return set()
    return set(db.session.scalars(select(_messages.c.id).where(
        any_of(_messages.c.id, list(ids)), _messages.c.status == status)))


def finish_unsent(campaign_id: int, new: MessageStatus, *, reason: str,
                  at: datetime | None = None) -> int:
    """Move every `pending`/`queued` row of a campaign to `new` (cancelled or expired).

    One UPDATE over the (campaign_id, status) index; rows already claimed by a sender finish.
    """
    if new not in (S.CANCELLED, S.EXPIRED):
        raise InvalidTransition(f"Unsent messages cannot be finished as {new.value}.")
    stmt = (
        update(Message)
        .where(Message.campaign_id == campaign_id,
               Message.status.in_([S.PENDING, S.QUEUED]))
        .values(status=new, reason=reason, finished_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]
