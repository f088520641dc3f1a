"""The smpp process's job worker thread outlives a Redis outage: it serves SMS jobs again once
Redis is back, however long it was away.

Found by the Redis restart drill (scripts/drills/redis_restart.py): RQ quit the worker's loop
when a send job ended while Redis was away; a second later the thread built the next worker,
which already talks to Redis, outside the error handling, so the thread died. The process kept
its binds and looked healthy but never took another SMS job: the campaign hung.
"""

from __future__ import annotations

import time

import redis as redis_lib
from rq import Queue

from dispatch.engine.enqueue import sms_queues
from dispatch.sms.process import AccountRunner
from scripts.harness import Redis, wait_for
from tests.helpers.factories import add_account
from tests.helpers.sms import FAST_TIMERS, PASSWORD


def test_the_job_worker_thread_outlives_a_redis_outage(app, smsc, backend, tmp_path,
                                                       monkeypatch):
    server = Redis(tmp_path / "redis").start()  # one this test may kill
    client = redis_lib.Redis.from_url(server.url)
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    monkeypatch.setitem(app.extensions, "loa_redis", client)
    account = add_account(smsc)
    runner = AccountRunner(app, account, PASSWORD, throttle=False, timers=FAST_TIMERS).start()
    try:
        queue = Queue(sms_queues(account.id)[1], connection=client)
        job = queue.enqueue("time.sleep", 1.5)
        assert wait_for(lambda: job.get_status(refresh=True) == "started", timeout=20)
        server.kill()  # the job ends while Redis is away, and it stays away a while
        time.sleep(4)
        server.start()
        done = tmp_path / "done"
        queue.enqueue("os.mkdir", str(done))
        assert wait_for(done.exists, timeout=30), "no SMS job taken after Redis came back"
        assert runner.alive
    finally:
        runner.stop(drain_timeout=1)
        client.close()
        server.kill()
