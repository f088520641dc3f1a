"""Builders for the engine tests: contacts and campaigns launched through the services, and a
burst worker."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from rq import SimpleWorker
from sqlalchemy import select

from dispatch.campaigns import service
from dispatch.config import local_zone
from dispatch.engine import enqueue
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, Message


def window_around_now() -> tuple[time, time]:
    """A same-day local send window that contains the present moment."""
    now = datetime.now(local_zone())
    start = max(now - timedelta(hours=2), now.replace(hour=0, minute=0))
    end = min(now + timedelta(hours=2), now.replace(hour=23, minute=59))
    return start.time().replace(second=0, microsecond=0), end.time().replace(second=0,
                                                                               microsecond=0)


def numbers(start: int, n: int) -> list[str]:
    """`n` Viettel numbers from `start` on."""
    return [f"+8496{start + i:07d}" for i in range(n)]


def ledger(c: Campaign) -> dict[str, tuple[str, str | None]]:
    """The campaign's ledger: status and reason per address."""
    rows = db.session.execute(select(Message.address, Message.status, Message.reason)
                              .where(Message.campaign_id == c.id)).all()
    return {addr: (status.value, reason) for addr, status, reason in rows}


def submit(c: Campaign, *, actor: Any) -> Campaign:
    """Submit through the service, commit, and run the freeze job it enqueued (`freeze_now`):
    the campaign then awaits approval."""
    service.submit(c, actor=actor)
    db.session.commit()
    freeze_now(c.id)
    db.session.refresh(c)
    return c


def freeze_now(campaign_id: int) -> Any:
    """Take the freeze job a submission enqueued off its queue and run it here, as a worker
    would (dispatch.campaigns.submission); its result. In a test with a worker running, that
    worker may have taken it: then wait for the campaign to await approval. Fails when no such
    job was enqueued (and nothing froze the campaign)."""
    from rq import Queue

    from scripts.drills.campaign import awaits_approval
    from scripts.harness import wait_for

    redis = get_redis()
    for name in ("urgent", "default"):
        queue = Queue(name, connection=redis)
        for job in queue.get_jobs():
            if job.func_name == enqueue.FREEZE_JOB and job.args == (campaign_id,):
                queue.remove(job)
                return job.perform()
    if wait_for(lambda: awaits_approval(campaign_id), 20):
        return "frozen"  # by a worker of the test's
    raise AssertionError(f"no freeze job enqueued for campaign {campaign_id}")


def launched(people: dict[str, Any], *, launch: bool = True, **fields: Any) -> Campaign:
    """A campaign created by the editor, approved by the approver, then launched."""
    start, end = window_around_now()
    data = {"title": "Thông báo", "channels": "sms", "sms_sender": "HAUGIANG",
            "sms_text": "Kinh gui quy vi", "window_start": start, "window_end": end}
    data.update(fields)
    c = service.create(data, actor=people["editor"])
    db.session.commit()
    submit(c, actor=people["editor"])
    service.approve(c, actor=people["approver"], snapshot_hash=c.snapshot_hash,
                    cap_exempt=fields.get("cap_exempt_on_approval", False))
    db.session.commit()
    if launch:
        service.launch(c, actor=people["approver"])
        db.session.commit()
    return c


def work(queues: list[str] | None = None) -> None:
    """Run every job waiting on `queues` (default: the ordinary worker queues) to completion."""
    names = queues or ["urgent", "default"]
    from rq import Queue

    redis = get_redis()
    SimpleWorker([Queue(n, connection=redis) for n in names], connection=redis).work(burst=True)
