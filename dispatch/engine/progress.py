"""Live progress of a campaign: counts per status, channel, operator and account, rate, ETA,
and why nothing moves when nothing does (`waiting_for`).

One GROUP BY over the campaign's rows (served by the (campaign_id, status) index range), cached
in Redis. When the figures are older than a couple of seconds, one reader (holding a short Redis
lock) recomputes them while every other reader gets the previous figures at once: a dashboard
polled by many people costs one query per period and never a pile-up of identical scans.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import redis as redis_lib
from sqlalchemy import case, func, select

from dispatch.config import local_zone
from dispatch.engine import flags
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus, SmppAccount
from dispatch.models.common import utcnow
from dispatch.models.ledger import FINAL, UNSENT
from dispatch.sms import pace as sms_pace
from dispatch.sms import status as smpp_status

S = MessageStatus
C = CampaignStatus
SENT = (S.SUBMITTED, S.DELIVERED, S.PARTIAL, S.FAILED, S.EXPIRED, S.UNKNOWN)
# Why a campaign with work left sends nothing right now (the `waiting_for` codes).
WAITING = ("scheduled", "paused", "send_window", "bind_down", "push_blocked", "fallback")
CACHE_SECONDS = 2
RATE_WINDOW = timedelta(seconds=60)


KEEP_SECONDS = 300  # stale figures are served this long while someone recomputes


def progress(c: Campaign, *, fresh: bool = False) -> dict[str, Any]:
    key, lock = keys.progress(c.id), keys.progress_lock(c.id)
    redis = get_redis()
    cached = None if fresh else redis.get(key)
    if cached:
        figures: dict[str, Any] = json.loads(cached)
        age = time.time() - figures.get("_computed", 0)
        if age < CACHE_SECONDS or not redis.set(lock, 1, nx=True, ex=30):
            return figures
    try:
        figures = compute(c)
        figures["_computed"] = time.time()
        redis.set(key, json.dumps(figures), ex=KEEP_SECONDS)
    finally:
        redis.delete(lock)
    return figures


def compute(c: Campaign) -> dict[str, Any]:
    now = utcnow()
    recent = case((Message.submitted_at >= now - RATE_WINDOW, 1), else_=0)
    stmt = (
        select(Message.channel, Message.status, Message.operator, Message.account_id,
               func.count(), func.coalesce(func.sum(Message.parts), 0), func.sum(recent))
        .where(Message.campaign_id == c.id)
        .group_by(Message.channel, Message.status, Message.operator, Message.account_id)
    )
    total = 0
    by_status: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    by_operator: dict[str, dict[str, int]] = {}
    by_account: dict[str, dict[str, int]] = {}
    recent_submits = 0
    parts_submitted = 0
    for channel, status, operator, account, n, parts, fresh in db.session.execute(stmt):
        status = S(status)
        total += n
        by_status[status.value] = by_status.get(status.value, 0) + n
        tables = [(by_channel, channel), (by_account, str(account) if account else "-")]
        if channel == "sms":  # a push goes to a device, through no operator
            tables.append((by_operator, operator or "other"))
        for table, key in tables:
            row = table.setdefault(key, {})
            row[status.value] = row.get(status.value, 0) + n
        recent_submits += int(fresh or 0)
        # SMS parts only: a push row carries parts=1 but is no billed part.
        if channel == "sms" and status not in (S.SUPPRESSED, S.CANCELLED, *UNSENT):
            parts_submitted += int(parts)
    unsent = sum(by_status.get(s.value, 0) for s in UNSENT)
    sent = sum(by_status.get(s.value, 0) for s in SENT)
    # A push accepted by FCM is final (no receipt will ever come: docs/ENGINE.md).
    final = (sum(by_status.get(s.value, 0) for s in FINAL)
             + by_channel.get("push", {}).get(S.SUBMITTED.value, 0))
    rate = recent_submits / RATE_WINDOW.total_seconds()
    unsent_by = {ch: sum(counts.get(s.value, 0) for s in UNSENT)
                 for ch, counts in by_channel.items()}
    waiting_for, waiting_until = _waiting(c, now, unsent_by, by_account)
    moving = c.status is C.SENDING and waiting_for is None
    pace = _pace(by_account, waiting_for) if c.status is C.SENDING else []
    return {
        "campaign_id": c.id,
        "status": c.status.value,
        "pause_reason": c.pause_reason,
        "push_blocked": c.push_blocked,
        "expanding": c.expanded_at is None and c.launched_at is not None,
        "total": total,
        "final": final,
        "unsent": unsent,
        "percent_done": round(100.0 * final / total, 1) if total else 0.0,
        "percent_sent": round(100.0 * sent / total, 1) if total else 0.0,
        "waiting_for": waiting_for,
        "waiting_until": waiting_until.isoformat() if waiting_until else None,
        "by_status": by_status,
        "by_channel": by_channel,
        "by_operator": by_operator,
        "by_account": by_account,
        # Per account with SMS left, what sets its pace now (dispatch.sms.pace.LIMITS, or
        # `send_window` while the window is closed) with its TPS, measured rate and refusals.
        "pace": pace,
        "parts_submitted": parts_submitted,
        # Nothing moves while paused, waiting or finished: no rate, no time left.
        "rate_per_second": round(rate, 1) if moving else None,
        "eta_seconds": round(unsent / rate) if moving and rate > 0 and unsent else None,
        "as_of": now.isoformat(),
    }


def _waiting(c: Campaign, now: datetime, unsent_by: dict[str, int],
             by_account: dict[str, dict[str, int]]) -> tuple[str | None, datetime | None]:
    """Why a campaign with work left sends nothing now, and when that ends if known."""
    if c.status is C.SCHEDULED:
        return "scheduled", c.send_at
    if c.status is C.PAUSED:
        return "paused", None
    if c.status is not C.SENDING:
        return None, None
    expanding = c.expanded_at is None
    if not flags.in_window(c, now):
        return "send_window", next_window_opening(c, now)
    sms_left, push_left = unsent_by.get("sms", 0), unsent_by.get("push", 0)
    push_moving = push_left > 0 and not c.push_blocked
    if sms_left and not push_moving and not expanding and _only_fallbacks_left(c):
        # app_then_sms: the SMS left wait for their pushes to be opened or not in time.
        return "fallback", None
    if sms_left and not push_moving and not expanding:
        waiting = [int(a) for a, counts in by_account.items() if a != "-"
                   and any(counts.get(s.value, 0) for s in UNSENT)]
        if waiting and not _any_bound(waiting):
            return "bind_down", None
    if push_left and c.push_blocked and not sms_left:
        return "push_blocked", None
    return None, None


def _only_fallbacks_left(c: Campaign) -> bool:
    """Whether every unsent SMS row of the campaign is a fallback waiting for its push."""
    if c.strategy != "app_then_sms":
        return False
    other = db.session.scalar(select(func.count()).where(
        Message.campaign_id == c.id, Message.channel == "sms", Message.status.in_(UNSENT),
        Message.status != S.PENDING))
    return not other


def _pace(by_account: dict[str, dict[str, int]],
          waiting_for: str | None) -> list[dict[str, Any]]:
    """The pace of each account that still has rows to send (a Redis it cannot read: none)."""
    ids = [int(a) for a, counts in by_account.items()
           if a != "-" and any(counts.get(s.value, 0) for s in (*UNSENT, S.SENDING))]
    if not ids:
        return []
    try:
        rows = smpp_status.read(get_redis())
    except (redis_lib.exceptions.RedisError, OSError):
        return []
    accounts = db.session.scalars(select(SmppAccount).where(SmppAccount.id.in_(ids))
                                  .order_by(SmppAccount.name)).all()
    out = []
    for now in sms_pace.paces(list(accounts), rows):
        line = now.as_dict()
        if waiting_for == "send_window":
            line["limit"] = "send_window"
        out.append(line)
    return out


def next_window_opening(c: Campaign, now: datetime) -> datetime:
    """The next moment (UTC) the campaign's local send window opens after `now`."""
    zone = local_zone()
    local = now.astimezone(zone)
    day = local.date() if local.time() < c.window_start else local.date() + timedelta(days=1)
    return datetime.combine(day, c.window_start, tzinfo=zone).astimezone(now.tzinfo)


def _any_bound(account_ids: list[int]) -> bool:
    """Whether any of the accounts has a bind up (a Redis it cannot read says nothing)."""
    try:
        rows = smpp_status.read(get_redis())
    except (redis_lib.exceptions.RedisError, OSError):
        return True
    return any(int(r["account_id"]) in account_ids and r.get("state") == "bound" for r in rows)
