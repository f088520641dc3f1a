"""One campaign's report: funnel per channel and operator, cost, timeline, first and last send.

Three or four aggregate queries over the campaign's ledger rows (all served by the
(campaign_id, status) index range); Python only arranges the grouped results.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from dispatch.campaigns import frozen
from dispatch.config import local_zone
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.reports import strategy as strategy_report
from dispatch.reports.sql import sent_flag, time_bucket
from dispatch.reports.tally import Tally, price_for, prices

S = MessageStatus
# Timeline widths offered; the report picks the smallest giving at most TARGET_BUCKETS.
BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
TARGET_BUCKETS = 180
MAX_BUCKETS = 2000
OUTCOMES = (S.DELIVERED, S.PARTIAL, S.FAILED)
PUSH_NOTE = ("Push: 'accepted_by_fcm' means Firebase accepted the notification for delivery. "
             "It is not a delivery: FCM sends no receipt, and Loa cannot know whether a device "
             "received or displayed it.")
COST_NOTE = ("Cost is an estimate: parts of every SMS that reached the gateway, except those "
             "it refused outright (no message id, nothing to bill), at the current price per "
             "part of its operator (setting sms_price_per_part).")


def local(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    try:
        return when.astimezone(local_zone())
    except OverflowError:
        # 9999-12-31 stored before dates were bounded has no local time: reported as stored.
        return when


def grouped(*where: ColumnElement[bool], by: Iterable[Any] = (),
            reasons: bool = True) -> list[Any]:
    """Ledger rows matching `where`, counted by `by`, channel, operator, status, (reason,) sent.

    Each result row ends with (n, sum of parts).
    """
    keys = [*by, Message.channel, Message.operator, Message.status]
    if reasons:
        keys.append(Message.reason)
    sent = sent_flag()
    stmt = (select(*keys, sent, func.count(), func.coalesce(func.sum(Message.parts), 0))
            .where(*where).group_by(*keys, sent))
    return list(db.session.execute(stmt))


def funnel(rows: Iterable[Any], table: dict[str, int]) -> dict[str, Any]:
    """Tallies of `grouped(...)` rows (with reasons): total, by channel, by SMS operator."""
    total = Tally()
    channels: dict[str, Tally] = {}
    operators: dict[str, Tally] = {}
    for channel, operator, status, reason, sent, n, parts in rows:
        price = price_for(table, operator)
        args = (channel, status, reason, sent, n, int(parts), price)
        total.add(*args)
        channels.setdefault(channel, Tally()).add(*args)
        if channel == "sms":
            operators.setdefault(operator or "other", Tally()).add(*args)
    return {
        "total": total.as_dict(),
        "by_channel": {k: v.as_dict() for k, v in sorted(channels.items())},
        "by_operator": {k: v.as_dict() for k, v in sorted(operators.items())},
    }


def campaign_report(c: Campaign, *, bucket: int | None = None) -> dict[str, Any]:
    """The report of campaign `c` (any status: a running campaign's report is as of now)."""
    table = prices()
    figures = funnel(grouped(Message.campaign_id == c.id), table)
    used = {op for op in figures["by_operator"]}
    expansion = c.expansion or {}
    notes = [COST_NOTE]
    if "push" in figures["by_channel"]:
        notes.append(PUSH_NOTE)
    if c.push_mode == "topic":
        notes.append("The push went as one topic send, counted as one ledger row"
                     + (f" ({c.push_mode_reason})." if c.push_mode_reason else "."))
    return {
        "campaign": {
            "id": c.id, "title": c.title, "phase_id": c.phase_id,
            "phase": c.phase.name if c.phase else None, "status": c.status.value,
            "channels": c.channels, "launched_at": local(c.launched_at),
            "finished_at": local(c.finished_at), "push_mode": c.push_mode,
        },
        "as_of": local(utcnow()),
        **figures,
        "prices_vnd_per_part": {op: price_for(table, op) for op in sorted(used)},
        # Recipients without a ledger row of their own: dropped by the expansion, or reached
        # through the topic send's single row.
        "not_in_ledger": {
            "duplicates_across_lists": int(expansion.get("duplicates_across_lists", 0)),
            "excluded_by_lists": int(expansion.get("excluded", 0)),
            # Approved members who left every list and locality before the expansion, and
            # members who joined after the approval (not covered by it, so not sent).
            "left_audience_since_approval": int(expansion.get("left_audience", 0))
            + int(expansion.get("push_left_audience", 0)),
            "not_approved": int(expansion.get("not_approved", 0))
            + int(expansion.get("push_not_approved", 0)),
            **({"topic_devices": int(expansion["topic_devices"])}
               if "topic_devices" in expansion else {}),
        },
        "reach": frozen.reach(c),
        # Which channel reached each person, and the fallbacks (null for `both`).
        "strategy": strategy_report.figures(c),
        **timeline(c, bucket),
        "notes": notes,
    }


def pick_bucket(first: datetime | None, last: datetime | None, wanted: int | None) -> int:
    span = (last - first).total_seconds() if first and last else 0
    if wanted is not None:
        if span / wanted > MAX_BUCKETS:
            raise ValidationFailed.field(
                "bucket", f"{wanted} s buckets over this campaign make more than "
                          f"{MAX_BUCKETS}; choose a wider one.")
        return wanted
    return next((b for b in BUCKETS if span / b <= TARGET_BUCKETS), BUCKETS[-1])


def timeline(c: Campaign, wanted: int | None = None) -> dict[str, Any]:
    """Submits and outcomes per time bucket, and the first and last send."""
    return timeline_of(Message.campaign_id == c.id, wanted)


def timeline_of(mine: ColumnElement[bool], wanted: int | None = None) -> dict[str, Any]:
    """The timeline of the ledger rows matching `mine` (one campaign, or several)."""
    first, last = db.session.execute(
        select(func.min(Message.submitted_at), func.max(Message.submitted_at)).where(mine)
    ).one()
    first_outcome, last_outcome = db.session.execute(
        select(func.min(Message.finished_at), func.max(Message.finished_at))
        .where(mine, Message.status.in_(OUTCOMES))).one()
    begin = min((t for t in (first, first_outcome) if t is not None), default=None)
    end = max((t for t in (last, last_outcome) if t is not None), default=None)
    width = pick_bucket(begin, end, wanted)
    counts: dict[int, dict[str, int]] = {}
    sb = time_bucket(Message.submitted_at, width)
    for start, n in db.session.execute(
            select(sb, func.count()).where(mine, Message.submitted_at.is_not(None))
            .group_by(sb)):
        counts.setdefault(int(start), {})["submitted"] = n
    fb = time_bucket(Message.finished_at, width)
    for start, status, n in db.session.execute(
            select(fb, Message.status, func.count())
            .where(mine, Message.status.in_(OUTCOMES), Message.finished_at.is_not(None))
            .group_by(fb, Message.status)):
        row = counts.setdefault(int(start), {})
        row[S(status).value] = row.get(S(status).value, 0) + n
    buckets = []
    zone = local_zone()
    if counts:
        for start in range(min(counts), max(counts) + width, width):
            row = counts.get(start, {})
            buckets.append({
                "start": datetime.fromtimestamp(start, UTC).astimezone(zone),
                "submitted": row.get("submitted", 0),
                "delivered": row.get("delivered", 0),
                "partial": row.get("partial", 0),
                "failed": row.get("failed", 0),
                "submit_rate_per_second": round(row.get("submitted", 0) / width, 2),
            })
    return {
        "first_submit": local(first), "last_submit": local(last),
        "last_outcome": local(last_outcome),
        "timeline": {"bucket_seconds": width, "buckets": buckets},
    }
