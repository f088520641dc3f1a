"""Live progress of a campaign: counts per status, channel, operator and account, rate, ETA.

One GROUP BY over the campaign's rows (served by the (campaign_id, status) index range), cached
in Redis. When the figures are older than a couple of seconds, one reader (holding a short Redis
lock) recomputes them while every other reader gets the previous figures at once: a dashboard
polled by many people costs one query per period and never a pile-up of identical scans.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select

from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.ledger import FINAL, UNSENT

S = MessageStatus
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
        for table, key in ((by_channel, channel), (by_operator, operator or "-"),
                           (by_account, str(account) if account else "-")):
            row = table.setdefault(key, {})
            row[status.value] = row.get(status.value, 0) + n
        recent_submits += int(fresh or 0)
        # SMS parts only: a push row carries parts=1 but is no billed part.
        if channel == "sms" and status not in (S.SUPPRESSED, S.CANCELLED, *UNSENT):
            parts_submitted += int(parts)
    unsent = sum(by_status.get(s.value, 0) for s in UNSENT)
    # A push accepted by FCM is final (no receipt will ever come: docs/ENGINE.md).
    final = (sum(by_status.get(s.value, 0) for s in FINAL)
             + by_channel.get("push", {}).get(S.SUBMITTED.value, 0))
    rate = recent_submits / RATE_WINDOW.total_seconds()
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
        "by_status": by_status,
        "by_channel": by_channel,
        "by_operator": by_operator,
        "by_account": by_account,
        "parts_submitted": parts_submitted,
        "rate_per_second": round(rate, 1),
        "eta_seconds": round(unsent / rate) if rate > 0 and unsent else None,
        "as_of": now.isoformat(),
    }
