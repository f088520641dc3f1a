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
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue

from scripts.drills.stack import Redis

ROOT = Path(__file__).resolve().parents[2]


def wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.postgres_only  # the database plays no part: once is enough
def test_a_job_ending_while_redis_is_away_does_not_end_the_worker(app, backend, tmp_path):
    server = Redis(tmp_path / "redis").start()  # one this test may kill
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": server.url,
           "LOA_INSTANCE_PATH": app.instance_path}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    client = redis_lib.Redis.from_url(server.url)
    try:
        queue = Queue("default", connection=client)
        job = queue.enqueue("time.sleep", 2)
        assert wait_for(lambda: job.get_status(refresh=True) == "started"), log.read_text()
        server.kill()  # the job ends while Redis is away
        time.sleep(3)
        assert proc.poll() is None, f"the worker exited:\n{log.read_text()[-3000:]}"
        server.start()  # empty, on the same socket
        done = tmp_path / "done"
        Queue("default", connection=client).enqueue("os.mkdir", str(done))
        assert wait_for(done.exists), f"no job run after Redis came back:\n{log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        client.close()
        server.kill()


@pytest.mark.postgres_only
def test_a_stop_requested_before_redis_went_away_still_stops_the_worker(app, backend, tmp_path):
    # `scripts/run` (or a host shutting down) may stop Redis while the worker finishes its job
    # after SIGTERM: the worker must then exit, not wait for a Redis that is not coming back.
    server = Redis(tmp_path / "redis").start()
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": server.url,
           "LOA_INSTANCE_PATH": app.instance_path}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    client = redis_lib.Redis.from_url(server.url)
    try:
        job = Queue("default", connection=client).enqueue("time.sleep", 2)
        assert wait_for(lambda: job.get_status(refresh=True) == "started"), log.read_text()
        proc.send_signal(signal.SIGTERM)  # warm shutdown: the job finishes first
        time.sleep(0.5)
        server.kill()
        assert proc.wait(20) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        client.close()
        server.kill()
