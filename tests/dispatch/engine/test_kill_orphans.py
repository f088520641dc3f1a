"""A send job whose worker was killed mid-job: its unclaimed rows get a job again.

RQ marks a job `started` when a worker takes it and keeps it so until its timeout (an hour for
SMS) when the worker dies with SIGKILL: nothing heartbeats a job that runs in the worker's own
thread. Found by the kill -9 drill (tests/drills/test_kill_smpp.py): the rows the killed job
had not claimed stayed `queued` with no job and the campaign never completed.
"""

from __future__ import annotations

from rq import Queue, SimpleWorker

from dispatch.engine import clock, enqueue
from dispatch.redis_conn import get_redis
from tests.dispatch.engine.conftest import add_account, add_contacts, launched, work


def _taken_by_a_worker_that_then_dies(queue: Queue) -> None:
    """What a worker does before running a job (RQ marks it `started`); then nothing more."""
    redis = get_redis()
    worker = SimpleWorker([queue], connection=redis)
    worker.register_birth()
    result = Queue.dequeue_any([queue], None, connection=redis)
    assert result is not None
    job = result[0]
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)


def test_rows_of_a_job_started_by_a_worker_that_died_are_enqueued_again(
        engine_app, people, monkeypatch, backend):
    account = add_account(default=True)
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(4)])
    c = launched(people, audience={"lists": [lst.id]})
    work()  # expansion: four queued rows, one SMS job
    queue = Queue(f"sms.{account}", connection=get_redis())
    assert queue.count == 1
    _taken_by_a_worker_that_then_dies(queue)
    assert queue.count == 0
    # Just started: it may well be running, so it counts and nothing is enqueued again.
    assert enqueue.live_jobs(c.id) == 1
    assert "requeued_jobs" not in clock.tick(engine_app.config)
    # Started longer ago than ORPHAN_AFTER_SECONDS with its rows still queued: they get a job.
    monkeypatch.setitem(engine_app.config, "ORPHAN_AFTER_SECONDS", 0)
    assert enqueue.live_jobs(c.id) == 0
    assert clock.tick(engine_app.config).get("requeued_jobs") == 1
    assert queue.count == 1
    assert len(queue.jobs[0].args[2]) == 4  # the four rows the dead job never claimed
    # That new job is queued, so the next tick does not pile up more.
    assert "requeued_jobs" not in clock.tick(engine_app.config)
