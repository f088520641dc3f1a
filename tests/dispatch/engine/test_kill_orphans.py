"""A send job whose worker was killed mid-job: its unclaimed rows get a job again.

RQ marks a job `started` when a worker takes it and keeps it so until its timeout (an hour for
SMS) when the worker dies with SIGKILL: nothing heartbeats a job that runs in the worker's own
thread. Found by the kill -9 drill (tests/drills/test_kill_smpp.py): the rows the killed job
had not claimed stayed `queued` with no job and the campaign never completed.
"""

from __future__ import annotations

from rq import Queue, SimpleWorker

from dispatch.engine import clock, enqueue
from dispatch.jobs.redis_conn import get_redis
from tests.helpers.engine import launched, work
from tests.helpers.factories import add_account, add_contacts


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
    account = add_account(is_default=True)
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(4)])
    c = launched(people, audience={"lists": [lst.id]})
    work()  # expansion: four queued rows, one SMS job
    queue = Queue(f"sms.{account.id}", connection=get_redis())
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


def test_an_expansion_waiting_for_a_worker_is_not_enqueued_again_every_tick(
        engine_app, people, monkeypatch, backend):
    """Launch enqueues the expand job; until a worker takes it (workers busy, restarting or
    all killed) the clock must not add another each tick: several expanders of one campaign
    would run at once when workers come back. One more per lapsed heartbeat is what a killed
    expansion needs."""
    import time

    monkeypatch.setitem(engine_app.config, "EXPAND_HEARTBEAT_SECONDS", 1)
    add_account(is_default=True)
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(4)])
    launched(people, audience={"lists": [lst.id]})
    queue = Queue("default", connection=get_redis())
    assert queue.count == 1
    for _ in range(3):
        assert "expand_restarted" not in clock.tick(engine_app.config)
    assert queue.count == 1
    time.sleep(1.2)  # no worker took it within a heartbeat: enqueue it once more
    assert clock.tick(engine_app.config).get("expand_restarted") == 1
    assert "expand_restarted" not in clock.tick(engine_app.config)
    assert queue.count == 2
