"""`flask worker` rides out a Redis outage: it serves jobs again once Redis is back.

Found by the Redis restart drill (scripts/drills/redis_restart.py): a job that ended while Redis
was away (the expansion, whose heartbeat is in Redis) made RQ's own bookkeeping raise, RQ quit
its work loop ("found an unhandled exception, quitting") and the process exited with 1, for
good: no worker was left to expand or send push batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue

from scripts.harness import Redis, wait_for

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class WorkerRun:
    proc: subprocess.Popen[bytes]
    server: Redis  # the worker's own Redis, which the test may kill and start again
    client: redis_lib.Redis
    log: Path

    def tail(self) -> str:
        return self.log.read_text()[-3000:]


@pytest.fixture()
def worker(app, tmp_path) -> Iterator[WorkerRun]:
    """`flask worker` as a process of its own, on a Redis of its own."""
    server = Redis(tmp_path / "redis").start()
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": server.url,
           "LOA_INSTANCE_PATH": app.instance_path}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    run = WorkerRun(proc, server, redis_lib.Redis.from_url(server.url), log)
    yield run
    if proc.poll() is None:
        proc.kill()
    run.client.close()
    server.kill()


@pytest.mark.postgres_only  # the database plays no part: once is enough
def test_a_job_ending_while_redis_is_away_does_not_end_the_worker(worker, backend, tmp_path):
    job = Queue("default", connection=worker.client).enqueue("time.sleep", 2)
    assert wait_for(lambda: job.get_status(refresh=True) == "started", 30), worker.tail()
    worker.server.kill()  # the job ends while Redis is away
    time.sleep(3)
    assert worker.proc.poll() is None, f"the worker exited:\n{worker.tail()}"
    worker.server.start()  # empty, on the same socket
    done = tmp_path / "done"
    Queue("default", connection=worker.client).enqueue("os.mkdir", str(done))
    assert wait_for(done.exists, 30), f"no job run after Redis came back:\n{worker.tail()}"
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0


@pytest.mark.postgres_only
def test_a_stop_requested_before_redis_went_away_still_stops_the_worker(worker, backend):
    # `scripts/run` (or a host shutting down) may stop Redis while the worker finishes its job
    # after SIGTERM: the worker must then exit, not wait for a Redis that is not coming back.
    job = Queue("default", connection=worker.client).enqueue("time.sleep", 2)
    assert wait_for(lambda: job.get_status(refresh=True) == "started", 30), worker.tail()
    worker.proc.send_signal(signal.SIGTERM)  # warm shutdown: the job finishes first
    time.sleep(0.5)
    worker.server.kill()
    assert worker.proc.wait(20) == 0, worker.tail()
