"""How work is handed over: RQ jobs for expansion and push batches, a wake-up for SMS.

SMS rows are not enqueued: the smpp process claims them from the ledger itself
(`dispatch.sms.send`), and `wake_sms` only tells it, after a commit, that new rows are there
(an optimisation: an idle runner also looks every second or so).

Jobs are enqueued by dotted path so this module does not import the senders. Enqueueing a push
row twice is harmless: only the job that claims it (`dispatch.engine.ledger.claim`) sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import now as rq_now
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, Message, MessageStatus
from dispatch.models.sqlbatch import chunks

log = logging.getLogger(__name__)

BATCH = 500  # rows per push send job; FCM's send_each takes at most 500
PUSH_JOB = "dispatch.push.send.send_batch"
EXPAND_JOB = "dispatch.engine.expand.expand"
REQUEUE_JOB = "dispatch.engine.control.requeue"
FREEZE_JOB = "dispatch.campaigns.submission.freeze"


def wake_sms(account_ids: Iterable[int] | None = None) -> None:
    """Tell the smpp processes that `queued` SMS rows were committed for these accounts (None:
    any account). Call after the commit. Never needed for correctness: lost, the rows are
    found at the runners' next look."""
    try:
        client = get_redis()
        for target in (["*"] if account_ids is None else sorted(set(account_ids))):
            client.publish(keys.SMS_WAKE, str(target))
    except RedisError as exc:
        log.warning("cannot wake the smpp processes (Redis): %s", exc)


def _urgent(c: Campaign) -> bool:
    return c.priority == "urgent"


def work_queue(c: Campaign | None = None, *, urgent: bool | None = None) -> Queue:
    """Expansion and push batches run on the ordinary workers."""
    if urgent is None:
        urgent = c is not None and _urgent(c)
    return Queue("urgent" if urgent else "default", connection=get_redis())


# Who holds a campaign's expansion, or the freeze of its audience at submission (one rule for
# the enqueue, the job and the clock; each has its key, `keys.expand_heartbeat` and
# `keys.freeze_heartbeat`).
# The key names the holder: QUEUED (a job is on its way to a worker) or the token of the run
# working on it. Enqueuing sets it to QUEUED *before* the job exists, and only when nobody holds
# it — otherwise no job is enqueued: the holder does the work. A run takes it when it is free or
# QUEUED, keeps it by renewing it (the expansion before each batch, the freeze from a thread
# beside its statements), and lets it go when it ends; a run that finds another run's token
# stops. The expiry (EXPAND_HEARTBEAT_SECONDS) frees the key of a run that died, and the clock's
# next enqueue starts a new one.
#
# (Enqueuing first and marking second once let a quick worker start the job in between: the late
# mark overwrote the run's token, the run stepped aside at its first batch and nothing ran until
# the mark expired.)
QUEUED = "queued"

_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and holder ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

_LET_GO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def heartbeat_ttl() -> int:
    return int(current_app.config["EXPAND_HEARTBEAT_SECONDS"])


def _enqueue_held(key: str, func: str, campaign_id: int, urgent: bool, timeout: int,
                  description: str) -> bool:
    if not get_redis().set(key, QUEUED, nx=True, ex=heartbeat_ttl()):
        return False
    work_queue(urgent=urgent).enqueue(func, campaign_id, job_timeout=timeout,
                                      description=description)
    return True


def hold(key: str, run: str, client: Any = None, ttl: int | None = None) -> bool:
    """Take or renew `key` for `run`; False when another run holds it and this one must stop.
    (`client` and `ttl`: for a thread outside the app context.)"""
    return bool((client or get_redis()).eval(_HOLD, 1, key, run, ttl or heartbeat_ttl(), QUEUED))


def let_go(key: str, run: str) -> None:
    """`run` ended: free `key` (only if `run` still holds it)."""
    get_redis().eval(_LET_GO, 1, key, run)


def enqueue_expand(campaign_id: int, urgent: bool) -> bool:
    """Enqueue the campaign's expand job unless someone holds its expansion (a run, or a job
    still waiting for a worker); True when a job was enqueued."""
    return _enqueue_held(keys.expand_heartbeat(campaign_id), EXPAND_JOB, campaign_id, urgent,
                         6 * 3600, f"expand campaign {campaign_id}")


def hold_expansion(campaign_id: int, run: str) -> bool:
    """Take or renew the expansion for `run` (before each batch); False when another run
    holds it and this one must stop: two runs are correct (rows are written once) but slow
    each other."""
    return hold(keys.expand_heartbeat(campaign_id), run)


def let_go_expansion(campaign_id: int, run: str) -> None:
    """`run` ended: free the expansion (only if `run` still holds it)."""
    let_go(keys.expand_heartbeat(campaign_id), run)


def enqueue_freeze(campaign_id: int, urgent: bool) -> bool:
    """Enqueue the freeze of a submitted campaign's audience unless someone holds it; True when
    a job was enqueued. Its timeout: 70 million members take about 90 minutes (docs/SCALE.md)."""
    return _enqueue_held(keys.freeze_heartbeat(campaign_id), FREEZE_JOB, campaign_id, urgent,
                         4 * 3600, f"freeze the audience of campaign {campaign_id}")


def enqueue_requeue(campaign_id: int, urgent: bool) -> None:
    """Have a worker re-enqueue the campaign's unsent rows (after resume): the request that
    resumed it should not wait on a million-row scan."""
    work_queue(urgent=urgent).enqueue(REQUEUE_JOB, campaign_id, job_timeout=3600,
                                      description=f"requeue campaign {campaign_id}")


def _send(queue: Queue, campaign_id: int, func: str, args: tuple[Any, ...],
          delay: float | None, timeout: int) -> None:
    if delay:
        job = queue.enqueue_in(timedelta(seconds=delay), func, *args, job_timeout=timeout)
    else:
        job = queue.enqueue(func, *args, job_timeout=timeout)
    # Remembered so the clock can tell rows waiting on a live job from orphans.
    get_redis().sadd(keys.campaign_jobs(campaign_id), job.id)


def live_jobs(campaign_id: int) -> int:
    """How many of the campaign's push send jobs are still queued, scheduled or running.

    Forgets jobs that finished, failed or vanished (a Redis that lost its data, a killed worker
    whose job RQ marked failed), so their rows count as orphans. A job started longer ago than
    ORPHAN_AFTER_SECONDS does not count either: the job of a worker killed mid-job stays
    `started` in RQ for its whole timeout (an hour for SMS; nothing heartbeats a job run in the
    worker's own thread), and its unclaimed rows would wait that long. If it is in fact still
    running, enqueuing its queued rows again is harmless: only the claimer sends. (SMS has no
    jobs: the smpp process claims its rows from the ledger.)
    """
    redis = get_redis()
    key = keys.campaign_jobs(campaign_id)
    ids = [i.decode() if isinstance(i, bytes) else i for i in redis.smembers(key)]
    if not ids:
        return 0
    started_since = rq_now() - timedelta(
        seconds=int(current_app.config["ORPHAN_AFTER_SECONDS"]))
    alive = 0
    gone: list[str] = []
    for job_id, job in zip(ids, Job.fetch_many(ids, connection=redis), strict=True):
        status = job.get_status(refresh=False) if job is not None else None
        if status == JobStatus.STARTED and job is not None:
            if job.started_at is None or job.started_at >= started_since:
                alive += 1
        elif status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            alive += 1
        else:
            gone.append(job_id)
    if gone:
        redis.srem(key, *gone)
    return alive


def enqueue_push(c: Campaign, ids: Sequence[int], delay: float | None = None) -> int:
    queue = work_queue(c)
    jobs = 0
    for part in chunks(ids, BATCH):
        _send(queue, c.id, PUSH_JOB, (c.id, part), delay, 900)
        jobs += 1
    return jobs


def enqueue_push_ids(campaign_id: int, ids: Sequence[int], *, urgent: bool) -> int:
    """`enqueue_push` by id, for an action deferred past a commit (it may not read objects)."""
    queue = work_queue(urgent=urgent)
    jobs = 0
    for part in chunks(ids, BATCH):
        _send(queue, campaign_id, PUSH_JOB, (campaign_id, part), None, 900)
        jobs += 1
    return jobs


def enqueue_queued(c: Campaign, *, older_than: timedelta | None = None) -> int:
    """Enqueue push send jobs for every `queued` push row of the campaign; return the number of
    jobs.

    Used after resume and by the clock for push rows whose job vanished (SMS rows need none:
    the smpp process finds them in the ledger). Streams ids in id order so a million queued
    rows never sit in memory at once.
    """
    from dispatch.models.common import utcnow

    if c.channels == "sms" or c.push_blocked:
        return 0  # no push rows; or the push side is stopped until `flask push unblock`
    stmt = (
        select(Message.id)
        .where(Message.campaign_id == c.id, Message.status == MessageStatus.QUEUED,
               Message.channel == "push")
        .order_by(Message.id)
        .execution_options(yield_per=5000)
    )
    if older_than is not None:
        stmt = stmt.where(Message.queued_at < utcnow() - older_than)
    bucket: list[int] = []
    jobs = 0
    for (msg_id,) in db.session.execute(stmt):
        bucket.append(msg_id)
        if len(bucket) >= BATCH:
            jobs += enqueue_push(c, bucket)
            bucket = []
    if bucket:
        jobs += enqueue_push(c, bucket)
    return jobs
