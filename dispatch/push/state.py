"""What every push job checks before sending and records when it cannot: the campaign's push
block, the FCM project's quota pause, retry delays, and putting claimed rows back.

Shared by per-device batches (`dispatch.push.send`) and topic sends
(`dispatch.push.topic`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import update

from dispatch.campaigns import audit
from dispatch.engine import flags, ledger
from dispatch.engine.outcomes import Policy
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, MessageStatus
from gateways.outcome import Outcome

log = logging.getLogger(__name__)
S = MessageStatus

MAX_ATTEMPTS = 5  # sends of one row that FCM answered "unavailable"/"internal" before it fails
BACKOFF_BASE, BACKOFF_MAX = 15.0, 300.0  # seconds: 15, 30, 60, 120 (capped at 300)
QUOTA_DEFAULT = 60.0  # seconds, when FCM says quota exceeded without a Retry-After
QUOTA_KEY = keys.PUSH_QUOTA_UNTIL
QUOTA_CODE = "QUOTA_EXCEEDED"

def may_start(c: Campaign, ids: Sequence[int], reschedule: Callable[[float], object]) -> bool:
    """Decide before claiming: blocked, stopped, expired, or the project throttled by FCM."""
    if c.push_blocked:
        return False  # an operator must fix the credentials; no request until then
    ok, why = flags.sendable(c)
    if not ok:
        if why == "expired":
            ledger.move(ids, S.EXPIRED, only_from=[S.QUEUED], reason="validity_ended")
            db.session.commit()
        return False  # paused, cancelled, outside the window: resume re-enqueues the rows
    wait = quota_wait()
    if wait > 0:
        reschedule(wait)
        return False
    return True


def retry_delay(o: Outcome, attempts: int) -> float:
    """Seconds until the next try of a RETRY outcome (the policy says when it had its tries)."""
    if quota(o):
        # The project's quota, not this message: only the campaign's validity limits it.
        return max(o.retry_after or QUOTA_DEFAULT, 1.0)
    backoff = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    return float(max(backoff, o.retry_after or 0.0))


def quota(o: Outcome) -> bool:
    return (o.code or "").upper() == QUOTA_CODE


def describe(o: Outcome) -> tuple[str, str | None]:
    """The ledger keeps FCM's error name, in lower case, as the reason; no error code."""
    return (o.code or o.status.value).lower()[:48], None


# What push decides for itself in the engine's one classify (dispatch.engine.outcomes): a row
# whose credentials were refused is held (the campaign's push side is blocked) until unblocked.
POLICY = Policy(MAX_ATTEMPTS, retry_delay, describe, auth_delay=None, unlimited=quota)


def throttle_project(seconds: float) -> None:
    """Tell every push job that FCM refuses this project's sends for `seconds`."""
    until = time.time() + seconds
    redis = get_redis()
    current = redis.get(QUOTA_KEY)
    if current is None or float(current) < until:
        redis.set(QUOTA_KEY, repr(until), px=max(int(seconds * 1000), 1))


def quota_wait() -> float:
    """Seconds left before FCM accepts this project's sends again (0: now)."""
    value = get_redis().get(QUOTA_KEY)
    return 0.0 if value is None else max(float(value) - time.time(), 0.0)


def unsend(ids: Sequence[int]) -> int:
    """Put claimed rows that were not sent back to `queued`."""
    return ledger.move(ids, S.QUEUED, only_from=[S.SENDING])


def block(c: Campaign, reason: str) -> bool:
    """Stop the campaign's push side with a reason for the operator; SMS is not affected.

    Guarded so that when several batches fail at once only the first records it.
    """
    text = f"{reason} — fix the FCM credentials, then `flask push unblock {c.id}`"
    done = db.session.execute(
        update(Campaign)
        .where(Campaign.id == c.id, Campaign.push_blocked.is_(None))
        .values(push_blocked=text)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if done:
        log.error("campaign %s: push blocked: %s", c.id, reason)
        audit.record("campaign.push_blocked", "campaign", c.id, actor=None, reason=reason)
    db.session.refresh(c, attribute_names=["push_blocked"])
    return bool(done)


