"""The clock enqueues the retention run once a day; a worker runs it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from dispatch.engine import clock
from dispatch.extensions import db
from dispatch.jobs import QUEUES, Worker, queue
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Contact


def test_the_retention_run_is_enqueued_once_a_day_and_runs(engine_app, backend):
    old = datetime(2024, 1, 1, tzinfo=UTC)
    db.session.add(Contact(msisdn="+84912000009", operator="vinaphone", updated_at=old))
    db.session.commit()
    clock.tick(engine_app.config)
    clock.tick(engine_app.config)  # the same day: not again
    assert queue("low").count == 1
    Worker([queue(q) for q in QUEUES], connection=get_redis()).work(burst=True)
    db.session.expire_all()
    assert db.session.scalars(select(Contact)).all() == []
