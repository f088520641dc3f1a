"""Whether a campaign may send right now: fast Redis flags backed by the database.

Pause and cancel set a stop flag in Redis so a sender notices within a submit or two (the issue
asks for no new submit later than 2 s after the command); the campaign's status in the database
stays the truth, checked before every chunk, so a lost Redis only delays the stop to the next chunk.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatch.config import local_zone
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus
from dispatch.models.common import utcnow


def set_stop(campaign_id: int, reason: str) -> None:
    get_redis().set(keys.campaign_stop(campaign_id), reason, ex=7 * 24 * 3600)


def clear_stop(campaign_id: int) -> None:
    get_redis().delete(keys.campaign_stop(campaign_id))


def may_send(campaign_id: int) -> bool:
    """The cheap check between submits: no stop flag is set."""
    return not get_redis().exists(keys.campaign_stop(campaign_id))


def in_window(c: Campaign, now: datetime | None = None) -> bool:
    """Whether local time is inside the campaign's send window (start inclusive, end exclusive)."""
    local = (now or utcnow()).astimezone(local_zone()).time()
    # Windows are same-day (the campaign content refuses start >= end).
    return c.window_start <= local < c.window_end


def valid_until(c: Campaign) -> datetime | None:
    """When unsent messages of the campaign expire (validity counted from its start)."""
    begun = c.send_at or c.launched_at
    if begun is None:
        return None
    return begun + timedelta(hours=c.validity_hours)


def sendable(c: Campaign, now: datetime | None = None) -> tuple[bool, str | None]:
    """The check before each chunk: status, window and validity, read from the database."""
    now = now or utcnow()
    if c.status is not CampaignStatus.SENDING:
        return False, c.status.value
    if not may_send(c.id):
        return False, "stopping"
    until = valid_until(c)
    if until is not None and now >= until:
        return False, "expired"
    if not in_window(c, now):
        return False, "outside_window"
    return True, None
