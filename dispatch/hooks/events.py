"""The events hooks can subscribe to, and `emit`: an outbox row in the caller's transaction.

Events and the `data` each carries (times are ISO 8601 in UTC; a number is masked like the
audit log masks it, `+8491****678`, never whole: a receiver that needs the person asks Loa):

- `reply.received` — someone wrote back (SMS MO or an app answer):
  `reply_id`, `campaign_id` (null when unattributed), `channel` (sms | app), `kind` (answer |
  free | opt_out | unattributed | stranger, as `replies.kind`), `choice` (the survey choice's
  key, or null), `number` (masked, or null for an app answer), `received_at`.
- `survey.answered` — a reply counted as a survey answer: the same fields, `choice` set.
- `message.delivered` — a ledger row became `delivered` (an SMS receipt said DELIVRD; a push is
  never `delivered`, FCM gives no receipt): `message_id`, `campaign_id`, `channel`, `status`,
  `number` (masked; null for push), `reason`, `error_code`, `at`.
- `message.failed` — a ledger row became `failed` (a receipt, a refused submit, a refused push):
  the same fields, `reason` and `error_code` as the ledger has them. `partial`, `expired` and
  `unknown` rows are not events (see the report for those).
- `campaign.completed` — `campaign_id`, `title`, `channels`, `counts` (ledger rows by status),
  `completed_at`.

Emitting follows "commit, then enqueue": `emit` writes a `hook_events` row in the session's
transaction and nothing else. When that transaction commits, a fan-out job is enqueued (at most
one waiting at a time); when it rolls back, the row is gone and nothing is ever sent. With
Redis away the enqueue fails quietly and the clock's sweep (dispatch.hooks.deliver.sweep) runs
the fan-out once Redis is back: the outbox is in the database, so nothing is lost.

Per-message events are cheap when no hook wants them: `wanted(event)` answers from a
per-process cache (refreshed every CACHE_SECONDS, and at once in the process that changes a
hook), and the ledger writes no row and runs no extra statement then. A hook registered in one
process is seen by the others within CACHE_SECONDS; events before that are not sent to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import Campaign, HookEvent, Message, Webhook
from dispatch.models.common import utcnow

log = logging.getLogger(__name__)

REPLY_RECEIVED = "reply.received"
SURVEY_ANSWERED = "survey.answered"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
CAMPAIGN_COMPLETED = "campaign.completed"
EVENTS = (REPLY_RECEIVED, SURVEY_ANSWERED, MESSAGE_DELIVERED, MESSAGE_FAILED,
          CAMPAIGN_COMPLETED)
TEST = "hook.test"  # sent to one hook by "send a test event", never subscribed to

CACHE_SECONDS = 5.0
FANOUT_JOB = "dispatch.hooks.deliver.fan_out"
_PENDING = "loa_hook_events"  # session.info flag: this transaction wrote outbox rows

_cache: tuple[float, frozenset[str]] | None = None


def forget() -> None:
    """Drop the cached subscriptions (after a hook changed, in this process)."""
    global _cache
    _cache = None


def wanted(event: str) -> bool:
    """Whether any enabled hook subscribes to `event` (cached; see the module docstring)."""
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > CACHE_SECONDS:
        subscribed: set[str] = set()
        for events in db.session.scalars(select(Webhook.events).where(Webhook.enabled.is_(True))):
            subscribed.update(events or [])
        _cache = (now, frozenset(subscribed))
    return event in _cache[1]


def mask(number: str | None) -> str | None:
    """A number as events carry it: enough to tell people apart, not to call them."""
    if not number:
        return None
    return number[:5] + "*" * max(0, len(number) - 8) + number[-3:]


def emit(event: str, data: dict[str, Any]) -> None:
    """Record one event in the caller's transaction (a no-op when no hook wants it)."""
    emit_many(event, [data])


def emit_many(event: str, items: Sequence[dict[str, Any]]) -> int:
    """Record events of one kind in one statement; return how many were written."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    if not items or not wanted(event):
        return 0
    now = utcnow()
    # One executemany (SQLAlchemy sends it as multi-row INSERTs): JSON values do not go
    # through sqlbatch.insert_rows' PostgreSQL arrays.
    db.session.execute(insert(HookEvent.__table__),
                       [{"event": event, "data": dict(d), "occurred_at": now} for d in items])
    db.session.info[_PENDING] = True
    return len(items)


def enqueue_fan_out() -> bool:
    """Enqueue the fan-out job unless one is already waiting; True when this call enqueued it.
    With Redis away nothing is lost: the clock's sweep enqueues it later."""
    from dispatch.jobs import queue
    from dispatch.jobs.redis_conn import get_redis

    try:
        if not get_redis().set(keys.HOOKS_FANOUT, "1", nx=True, ex=300):
            return False  # one is waiting; it takes every row committed before it runs
        try:
            queue("low").enqueue(FANOUT_JOB, job_timeout=600,
                                 description="webhooks: fan out events")
        except (RedisError, OSError):
            get_redis().delete(keys.HOOKS_FANOUT)  # no job waits: let the next one enqueue
            raise
        return True
    except (RedisError, OSError) as exc:
        log.warning("webhooks: cannot enqueue the fan-out (Redis: %s); the clock will", exc)
        return False


def campaign_completed(c: Campaign) -> None:
    """`campaign.completed`, with the ledger's rows by status (one grouped count, only when a
    hook wants it)."""
    if not wanted(CAMPAIGN_COMPLETED):
        return
    counts = {str(getattr(status, "value", status)): n for status, n in db.session.execute(
        select(Message.status, func.count()).where(Message.campaign_id == c.id)
        .group_by(Message.status))}
    emit(CAMPAIGN_COMPLETED, {
        "campaign_id": c.id, "title": c.title, "channels": c.channels, "counts": counts,
        "completed_at": (c.finished_at or utcnow()).isoformat()})


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, None) and has_app_context() and current_app:
        enqueue_fan_out()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
