"""Jobs run on a real RQ worker against a real Redis."""

from __future__ import annotations

from rq import SimpleWorker

from dispatch import jobs
from dispatch.jobs.redis_conn import get_redis


def test_worker_runs_a_job_in_app_context(app, redis):
    job = jobs.queue("default").enqueue(jobs.ping, "hello")
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)
    job.refresh()
    assert job.is_finished and job.return_value() == "pong hello from dispatch"


def test_unknown_queue_is_refused(app):
    import pytest

    with pytest.raises(ValueError):
        jobs.queue("nope")
