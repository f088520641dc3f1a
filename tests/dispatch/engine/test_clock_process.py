"""`flask clock` as a process of its own: SIGTERM ends the tick in progress, releases the lock
(so a replacement clock ticks at once, not after the lock expires) and exits 0."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from dispatch.engine import clock
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis

ROOT = Path(__file__).resolve().parents[3]


def test_sigterm_releases_the_lock_and_exits_0(engine_app, backend):
    redis = get_redis()
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": engine_app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": engine_app.config["REDIS_URL"],
           "LOA_INSTANCE_PATH": engine_app.instance_path}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "clock", "--interval", "0.2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Ready once it says so (click flushes), then a few ticks (0.2 s apart) before the
        # signal. Polling for the lock itself would race: a tick holds it for milliseconds.
        seen = ""
        deadline = time.monotonic() + 60  # seconds to start; tens on a loaded machine
        while "clock running" not in seen and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                seen += proc.stdout.readline().decode()
        assert "clock running" in seen, seen
        time.sleep(1.0)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0  # a tick in progress finishes first; slow under load
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read().decode()
    assert "clock stopped" in output, output
    # A killed clock would leave its lock for 15 s; a stopped one leaves none.
    assert not redis.exists(keys.CLOCK_LOCK)


def test_a_tick_longer_than_the_lock_never_releases_the_next_clocks_lock(engine_app, backend,
                                                                         monkeypatch):
    redis = get_redis()
    stop = threading.Event()

    def slow_tick(config):
        # While this tick ran, its lock expired and another host's clock took it.
        redis.set(keys.CLOCK_LOCK, "other-clock", ex=30)
        stop.set()
        return {}

    monkeypatch.setattr(clock, "tick", slow_tick)
    clock.run_forever(engine_app.config, 0.1, stop)
    assert redis.get(keys.CLOCK_LOCK) in (b"other-clock", "other-clock")
