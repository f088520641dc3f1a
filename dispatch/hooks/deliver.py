"""Delivery: the outbox fanned out into signed POSTs, sent by RQ jobs, retried with back-off.

- `fan_out()` (RQ job, no arguments, idempotent): takes the outbox rows in id order, and for
  every enabled hook subscribed to their event writes deliveries of at most BATCH events of
  one kind each (a campaign of a million messages makes ~10,000 POSTs, not a million), deletes
  the rows, commits, then enqueues one `deliver` job per delivery (queue `low`).
- `deliver(delivery_id)` (RQ job): posts the delivery's frozen body if it is due and its hook
  enabled, holding it (`claimed_until`) so two copies of the job post it once; logs the attempt
  (status code, error, duration, next try). A failure is tried again after BACKOFF (1 min,
  5 min, 30 min, 2 h, then every 6 h) up to MAX_ATTEMPTS. While a hook is failing only one
  delivery at a time tries it (at `paused_until`, on the hook's own back-off) and the others
  wait for that try, so a receiver that is down costs one call per back-off step, not one per
  delivery. A hook whose failures have run unbroken for DISABLE_AFTER (a day) is disabled with
  the reason, and an admin re-enables it (dispatch.hooks.registry). A disabled hook's
  deliveries wait; they go on after re-enabling.
- `sweep()` (the clock, every tick): runs the fan-out for outbox rows nobody enqueued (Redis
  was away when they were committed), enqueues deliveries that are due (retries, and those
  whose job was lost), and deletes deliveries finished more than KEEP (30 days) ago.

Every POST carries:
  X-Loa-Event       the event of every item in the body (`message.delivered` …, `hook.test`)
  X-Loa-Delivery    the delivery's id: the same on every retry, so a receiver can drop repeats
  X-Loa-Timestamp   Unix seconds when this attempt was signed
  X-Loa-Signature   `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the hook's secret
and the body `{"delivery": …, "event": …, "events": [{"id", "event", "occurred_at", "data"}]}`
(`id` is the event's own id, the same for every hook it goes to). A 2xx answer is a success;
anything else (a 3xx too: redirects are never followed), a timeout or no connection is a
failure. Order is not guaranteed across deliveries.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, func, or_, select, update

from dispatch.access import secrets
from dispatch.extensions import db
from dispatch.hooks import events as hook_events
from dispatch.hooks import registry
from dispatch.jobs import in_app_context, keys, queue
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import HookAttempt, HookDelivery, HookEvent, Webhook
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of, chunks
from gateways import webhook

log = logging.getLogger(__name__)

BATCH = 100  # events per POST
FAN_OUT_ROWS = 1000  # outbox rows per fan-out transaction
BACKOFF = (60, 300, 1800, 7200, 21600)  # seconds after the 1st, 2nd … failure; the last repeats
MAX_ATTEMPTS = 10  # then the delivery is given up (`failed`)
DISABLE_AFTER = timedelta(days=1)
HOLD = timedelta(seconds=60)  # longer than connect + read timeouts
STALE_ENQUEUE = timedelta(minutes=10)  # a due delivery enqueued this long ago lost its job
KEEP = timedelta(days=30)  # finished deliveries (and their attempts) are kept this long
DELIVER_JOB = "dispatch.hooks.deliver.deliver"
# Below sending (`urgent`, `default`: expansion, push batches): a slow receiver never holds
# back a campaign, and a worker drains `low` once the sends are done.
QUEUE = "low"


def backoff(failures: int) -> timedelta:
    """How long after its `failures`-th failure a delivery is tried again."""
    return timedelta(seconds=BACKOFF[min(failures, len(BACKOFF)) - 1])


def body_of(uid: str, event: str, items: list[dict[str, Any]]) -> str:
    return json.dumps({"delivery": uid, "event": event, "events": items},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def new_delivery(hook: Webhook, event: str, items: list[dict[str, Any]]) -> HookDelivery:
    uid = uuid.uuid4().hex
    d = HookDelivery(hook_id=hook.id, uid=uid, event=event, events=len(items),
                     body=body_of(uid, event, items), next_attempt_at=utcnow())
    db.session.add(d)
    return d


# -- fan-out -----------------------------------------------------------------------------------


@in_app_context
def fan_out() -> int:
    """Turn the whole outbox into deliveries; return how many deliveries were written."""
    with contextlib.suppress(RedisError):
        get_redis().delete(keys.HOOKS_FANOUT)  # commits from now on enqueue another run
    written = 0
    while True:
        made = _fan_out_rows()
        if made is None:
            return written
        written += len(made)
        enqueue(made)


def _fan_out_rows() -> list[int] | None:
    """One batch of the outbox → deliveries (committed); None when the outbox is empty."""
    rows = db.session.execute(
        select(HookEvent.id, HookEvent.event, HookEvent.data, HookEvent.occurred_at)
        .order_by(HookEvent.id).limit(FAN_OUT_ROWS).with_for_update(skip_locked=True)).all()
    if not rows:
        db.session.rollback()
        return None
    ids = [r.id for r in rows]
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_event[r.event].append({"id": uuid.uuid4().hex, "event": r.event,
                                  "occurred_at": r.occurred_at.isoformat(), "data": r.data})
    hooks = db.session.scalars(select(Webhook).where(Webhook.enabled.is_(True))
                               .order_by(Webhook.id)).all()
    made: list[HookDelivery] = []
    for event, items in by_event.items():
        for hook in hooks:
            if event in (hook.events or []):
                made.extend(new_delivery(hook, event, part) for part in chunks(items, BATCH))
    deleted = db.session.execute(  # type: ignore[attr-defined]
        delete(HookEvent).where(any_of(HookEvent.id, ids))).rowcount
    if deleted != len(ids):  # another fan-out took some of these first (SQLite: no row locks)
        db.session.rollback()
        return []
    db.session.flush()
    made_ids = [d.id for d in made]
    db.session.commit()
    return made_ids


def enqueue(delivery_ids: list[int]) -> int:
    """Enqueue `deliver` jobs (after the commit that wrote the deliveries); return how many.
    Those not enqueued (Redis away) are left to the sweep."""
    done: list[int] = []
    try:
        q = queue(QUEUE)
        for delivery_id in delivery_ids:
            q.enqueue(DELIVER_JOB, delivery_id, job_timeout=120,
                      description=f"webhook delivery {delivery_id}")
            done.append(delivery_id)
    except (RedisError, OSError) as exc:
        log.warning("webhooks: cannot enqueue deliveries (Redis: %s); the clock will", exc)
    if done:
        db.session.execute(update(HookDelivery).where(any_of(HookDelivery.id, done))
                           .values(enqueued_at=utcnow()))
        db.session.commit()
    return len(done)


# -- one delivery ------------------------------------------------------------------------------


@in_app_context
def deliver(delivery_id: int) -> str:
    """Post one delivery if it is due; return what happened (for logs and tests)."""
    now = utcnow()
    d = db.session.get(HookDelivery, delivery_id)
    if d is None or d.status != "pending":
        return "done"
    if d.next_attempt_at > now:
        return "not_due"
    hook = db.session.get(Webhook, d.hook_id)
    if hook is None or not hook.enabled:
        return "hook_disabled"
    if hook.paused_until is not None and hook.paused_until > now:
        # The receiver is failing: wait for the hook's next probe instead of adding a call
        # (and a timeout's worth of worker time) per delivery to a receiver that is down.
        d.next_attempt_at = max(d.next_attempt_at, hook.paused_until)
        d.enqueued_at = None
        db.session.commit()
        return "hook_paused"
    held = db.session.execute(
        update(HookDelivery)
        .where(HookDelivery.id == d.id, HookDelivery.status == "pending",
               or_(HookDelivery.claimed_until.is_(None), HookDelivery.claimed_until < now))
        .values(claimed_until=now + HOLD)).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    if not held:
        return "held"
    body = d.body.encode()
    stamp = int(now.timestamp())
    config = current_app.config
    result = webhook.post(hook.url, body, {
        "X-Loa-Event": d.event, "X-Loa-Delivery": d.uid, "X-Loa-Timestamp": str(stamp),
        "X-Loa-Signature": webhook.signature(secrets.decrypt(hook.secret_encrypted), stamp, body),
    }, connect_timeout=float(config.get("HOOK_CONNECT_TIMEOUT", 5)),
        read_timeout=float(config.get("HOOK_READ_TIMEOUT", 10)))
    return _record(d, hook, result, now)


def _record(d: HookDelivery, hook: Webhook, result: webhook.PostResult, at: datetime) -> str:
    d.attempts += 1
    d.claimed_until = None
    next_at: datetime | None = None
    if result.ok:
        d.status, d.finished_at = "delivered", at
        hook.failing_since, hook.last_success_at = None, at
        hook.failures, hook.paused_until = 0, None
    else:
        hook.failures += 1
        hook.paused_until = at + backoff(hook.failures)
        if d.attempts >= MAX_ATTEMPTS:
            d.status, d.finished_at = "failed", at
        else:
            next_at = at + backoff(d.attempts)
            d.next_attempt_at, d.enqueued_at = next_at, None
        hook.failing_since = hook.failing_since or at
        if hook.enabled and at - hook.failing_since >= DISABLE_AFTER:
            registry.disable(hook, registry.failing_reason(hook.failing_since, result.error),
                             at=at)
    db.session.add(HookAttempt(delivery_id=d.id, hook_id=hook.id, at=at,
                               status_code=result.status, error=(result.error or None),
                               duration_ms=result.duration_ms, next_attempt_at=next_at))
    db.session.commit()
    return d.status if result.ok or d.status == "failed" else "retry"


# -- the clock's sweep -------------------------------------------------------------------------


def sweep(now: datetime | None = None, *, limit: int = 1000) -> dict[str, int]:
    """Enqueue what nobody enqueued: the fan-out of old outbox rows, and due deliveries."""
    now = now or utcnow()
    done: dict[str, int] = {}
    stale_outbox = db.session.scalar(select(HookEvent.id).where(
        HookEvent.occurred_at < now - timedelta(seconds=10)).limit(1))
    if stale_outbox is not None and hook_events.enqueue_fan_out():
        done["hook_fan_out"] = 1
    ready = (HookDelivery.status == "pending", HookDelivery.next_attempt_at <= now,
             Webhook.enabled.is_(True),
             or_(HookDelivery.enqueued_at.is_(None),
                 HookDelivery.enqueued_at < now - STALE_ENQUEUE),
             or_(HookDelivery.claimed_until.is_(None), HookDelivery.claimed_until < now))
    joined = select(HookDelivery.id).join(Webhook, Webhook.id == HookDelivery.hook_id)
    due = list(db.session.scalars(joined.where(*ready, Webhook.failing_since.is_(None))
                                  .order_by(HookDelivery.id).limit(limit)))
    # A failing hook gets its one probe (the oldest due delivery), once its pause is over.
    due += db.session.scalars(
        select(func.min(HookDelivery.id)).join(Webhook, Webhook.id == HookDelivery.hook_id)
        .where(*ready, Webhook.failing_since.is_not(None),
               or_(Webhook.paused_until.is_(None), Webhook.paused_until <= now))
        .group_by(HookDelivery.hook_id)).all()
    if due:
        n = enqueue(due)
        if n:
            done["hook_deliveries"] = n
    purged = purge(now - KEEP)
    if purged:
        done["hook_purged"] = purged
    return done


def purge(before: datetime, *, batch: int = 1000) -> int:
    """Delete one batch of deliveries finished before `before`, their attempts with them: the
    log stays readable for a month and does not grow without end (bodies carry masked numbers
    and reply ids, personal data with an end of life)."""
    old = list(db.session.scalars(
        select(HookDelivery.id).where(HookDelivery.status != "pending",
                                      HookDelivery.finished_at < before).limit(batch)))
    if not old:
        return 0
    db.session.execute(delete(HookAttempt).where(any_of(HookAttempt.delivery_id, old)))
    db.session.execute(delete(HookDelivery).where(any_of(HookDelivery.id, old)))
    db.session.commit()
    return len(old)
