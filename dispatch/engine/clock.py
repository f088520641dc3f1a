"""The periodic tick (`flask clock`): everything that happens because time passed.

- a submission whose audience freeze was lost or died with its worker is frozen again
  (dispatch.campaigns.submission);
- scheduled campaigns whose time has come start;
- a campaign's unsent rows expire when its validity ends;
- submitted rows with no receipt after the receipt wait become `unknown`;
- rows claimed (`sending`) by a process that died become `unknown` — never resent on their own;
- an expansion whose worker died is enqueued again (it continues from its checkpoint);
- push rows `queued` with no live job (Redis lost its data, a worker was killed, the send
  window reopened, the campaign was resumed) are enqueued again — harmless if a job still exists,
  as only the claimer sends. SMS rows have no jobs to lose: the smpp process claims them from
  the ledger whenever the campaign may send (dispatch.sms.send);
- an app_then_sms campaign's waiting SMS go, or not, once its pushes were refused, opened or
  left unopened too long (dispatch.engine.fallback);
- a campaign whose rows are all final completes;
- webhook events and deliveries nobody enqueued (Redis was away), and retries that are due,
  are enqueued (dispatch.hooks.deliver.sweep);
- an import left `running` by a dead worker (its heartbeat lapsed) is marked failed, and a
  queued one whose job vanished is enqueued again (dispatch.audiences.import_jobs).

Only one clock ticks at a time across hosts (a Redis lock), and every step is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from dispatch.audiences import import_jobs, retention
from dispatch.campaigns import service as campaigns
from dispatch.engine import enqueue, fallback, flags, ledger
from dispatch.extensions import db
from dispatch.hooks import deliver as hooks
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.ledger import UNSENT

log = logging.getLogger(__name__)
S = MessageStatus
C = CampaignStatus

LOCK = keys.CLOCK_LOCK  # one ticking clock across hosts


def settings_from(config: dict[str, Any]) -> dict[str, timedelta]:
    return {
        "receipt_wait": timedelta(seconds=int(config["RECEIPT_WAIT_SECONDS"])),
        "claim_timeout": timedelta(seconds=int(config["CLAIM_TIMEOUT_SECONDS"])),
        "orphan_after": timedelta(seconds=int(config["ORPHAN_AFTER_SECONDS"])),
    }


def tick(config: dict[str, Any]) -> dict[str, int]:
    """One pass over every active campaign; returns what it did, for logs and tests."""
    limits = settings_from(config)
    done: dict[str, int] = {}

    def count(key: str, n: int) -> None:
        if n:
            done[key] = done.get(key, 0) + n

    now = utcnow()
    # Once a day (dispatch.audiences.retention), not per campaign: not counted.
    retention.enqueue_daily()
    for c in db.session.scalars(select(Campaign).where(
            Campaign.status == C.SCHEDULED, Campaign.send_at <= now)):
        campaigns.start(c)
        db.session.commit()
        count("started", 1)

    # A submission whose freeze job was lost (Redis) or died with its worker: enqueued again
    # once nobody holds it (dispatch.campaigns.submission).
    for campaign_id, priority in db.session.execute(select(Campaign.id, Campaign.priority).where(
            Campaign.status == C.SUBMITTING)).all():
        if enqueue.enqueue_freeze(campaign_id, priority == "urgent"):
            count("freeze_restarted", 1)

    active = db.session.scalars(select(Campaign).where(
        Campaign.status.in_([C.SENDING, C.PAUSED]))).all()
    for c in active:
        until = flags.valid_until(c)
        if until is not None and now >= until:
            count("expired", ledger.finish_unsent(c.id, S.EXPIRED, reason="validity_ended"))
        # SMS only: a push has no receipt to wait for, it is final once FCM accepted it.
        count("no_receipt", ledger.age_out(c.id, S.SUBMITTED, now - limits["receipt_wait"],
                                           reason="no_receipt", channel="sms"))
        count("claim_lost", ledger.age_out(c.id, S.SENDING, now - limits["claim_timeout"],
                                           reason="claim_lost"))
        db.session.commit()
        if c.status is not C.SENDING:
            continue
        if c.expanded_at is None:
            # Enqueued only when nobody holds the expansion (its run died, or its job vanished).
            if enqueue.enqueue_expand(c.id, c.priority == "urgent"):
                count("expand_restarted", 1)
            continue
        for key, n in fallback.step(c, now).items():
            count(key, n)
        if _has_open_rows(c.id):
            if (c.channels != "sms" and flags.sendable(c, now)[0]
                    and not enqueue.live_jobs(c.id)):
                count("requeued_jobs", enqueue.enqueue_queued(c, older_than=limits["orphan_after"]))
            continue
        campaigns.complete(c)
        db.session.commit()
        count("completed", 1)
    for key, n in import_jobs.check_stalled(config).items():
        count(key, n)
    for key, n in hooks.sweep(now).items():  # webhooks nobody enqueued (Redis was away)
        count(key, n)
    return done


def _has_open_rows(campaign_id: int) -> bool:
    """Rows not final yet: unsent ones, and SMS awaiting a receipt (push is final at submitted,
    see docs/ENGINE.md)."""
    unsent = exists().where(Message.campaign_id == campaign_id, Message.status.in_(UNSENT))
    waiting = exists().where(Message.campaign_id == campaign_id,
                             Message.status == S.SUBMITTED, Message.channel == "sms")
    return bool(db.session.scalar(select(unsent | waiting)))


def _end_session() -> None:
    """Close the tick's session. Its connection may have been ended meanwhile (a database
    restart): the ROLLBACK then fails once, dropping that connection, and the clock carries on."""
    try:
        db.session.remove()
    except SQLAlchemyError as exc:
        log.warning("clock: the database ended the connection (%s)", type(exc).__name__)
        with contextlib.suppress(SQLAlchemyError):
            db.session.remove()


# Delete the lock only if it is still ours: a tick longer than the lock's expiry may have let
# another clock take it, and a plain DEL would release that one's.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def run_forever(config: dict[str, Any], interval: float = 5.0,
                stop: threading.Event | None = None) -> None:
    """The clock process: tick every `interval` seconds while holding the clock lock, until
    `stop` is set (SIGTERM: the tick in progress finishes and the lock is released, so a
    replacement clock need not wait for it to expire)."""
    redis = get_redis()
    stop = stop or threading.Event()
    token = uuid.uuid4().hex
    release = redis.register_script(_RELEASE)
    while not stop.is_set():
        started = time.monotonic()
        try:
            held = redis.set(LOCK, token, nx=True, ex=max(int(interval * 3), 15))
        except RedisError as exc:  # Redis restarting: tick again once it is back
            log.warning("clock: Redis unavailable (%s); not ticking", exc)
            held = False
        if held:
            try:
                done = tick(config)
                if done:
                    log.info("clock: %s", done)
            except Exception:
                db.session.rollback()
                log.exception("clock tick failed")
            finally:
                with contextlib.suppress(RedisError):  # else the lock expires by itself
                    release(keys=[LOCK], args=[token])
                _end_session()
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
