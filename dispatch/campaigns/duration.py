"""How long a campaign's SMS will take, known before it is launched.

Each account sends its share at the same time as the others, so the campaign takes as long as
its slowest account: the parts routed to it (recipients per operator of the frozen reach ×
parts per message) at the rate it can hold — its TPS, or less when its windows carry less
(binds × window ÷ the round trip its binds measured, `dispatch.sms.pace`). Its measured recent
rate is shown beside, when its binds report one. The send window then stretches the time: what
does not fit before the window closes (22:00 by default) continues when it opens the next
morning. Push is not counted: FCM takes a campaign's devices in minutes.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

import redis as redis_lib
from sqlalchemy import select

from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, SmppAccount
from dispatch.models.common import utcnow
from dispatch.sms import pace as pacing
from dispatch.sms import status as smpp_status
from dispatch.sms.accounts import route_table


def sending_seconds(parts: int, rate: float) -> int:
    """Seconds to send `parts` PDUs at `rate` a second (whole seconds, rounded up)."""
    if parts <= 0:
        return 0
    return math.ceil(parts / rate)


def finish_at(start: datetime, seconds: int, window_start: time,
              window_end: time) -> tuple[datetime, int]:
    """When `seconds` of sending that may begin at `start` (UTC) end, sending only inside the
    local send window; and how many times the window closes on it before (0: same window)."""
    zone = local_zone()
    local = start.astimezone(zone)
    left = timedelta(seconds=seconds)
    closings = 0
    day: date = local.date()
    while True:
        opens = datetime.combine(day, window_start, tzinfo=zone)
        closes = datetime.combine(day, window_end, tzinfo=zone)
        begin = max(local, opens)
        if begin < closes:
            if begin + left <= closes:
                return (begin + left).astimezone(start.tzinfo), closings
            left -= closes - begin
            closings += 1
        day += timedelta(days=1)
        local = datetime.combine(day, window_start, tzinfo=zone)


def _rows() -> list[dict[str, Any]]:
    try:
        return smpp_status.read(get_redis())
    except (redis_lib.exceptions.RedisError, OSError):
        return []  # no measurement: the TPS alone


def estimate(c: Campaign, recipients: dict[str, int], parts_per_message: int, *,
             start: datetime | None = None) -> dict[str, Any] | None:
    """The expected duration of the campaign's SMS from `recipients` per operator (None: no SMS).

    `start`: when sending would begin (default: the scheduled time, or now)."""
    if not recipients or not any(recipients.values()):
        return None
    routes = route_table()
    accounts = {a.id: a for a in db.session.scalars(
        select(SmppAccount).where(SmppAccount.enabled.is_(True)))}
    rows = _rows()
    per_account: dict[int, int] = {}
    unrouted = 0
    for operator, count in recipients.items():
        account_id = routes.get(operator)
        if account_id is None or account_id not in accounts:
            unrouted += count
            continue
        per_account[account_id] = per_account.get(account_id, 0) + count
    lines: list[dict[str, Any]] = []
    for account_id, messages in sorted(per_account.items()):
        account = accounts[account_id]
        now = pacing.account_pace(account_id, account.name, account.tps, rows)
        rate = now.expected_rate
        parts = messages * parts_per_message
        lines.append({
            "account_id": account_id, "account": account.name, "messages": messages,
            "parts": parts, "tps": account.tps, "measured_rate": now.rate if now.binds else None,
            "window_limit": now.window_limit, "rate": rate,
            "limit": "window" if now.limit == "window" else "tps",
            "seconds": sending_seconds(parts, rate)})
    if not lines:
        return {"seconds": None, "accounts": [], "unrouted": unrouted, "longest": None,
                "finish_at": None, "next_day": False}
    longest = max(lines, key=lambda line: line["seconds"])
    begin = start or max(c.send_at or utcnow(), utcnow())
    finish, closings = finish_at(begin, longest["seconds"], c.window_start, c.window_end)
    return {"seconds": longest["seconds"], "accounts": lines, "unrouted": unrouted,
            "longest": longest["account"], "start": begin.isoformat(),
            "finish_at": finish.isoformat(), "next_day": closings > 0, "closings": closings,
            "window_start": c.window_start.strftime("%H:%M"),
            "window_end": c.window_end.strftime("%H:%M")}
