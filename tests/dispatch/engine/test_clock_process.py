"""`flask clock` as a process of its own: SIGTERM ends the tick in progress, releases the lock
(so a replacement clock ticks at once, not after the lock expires) and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from dispatch.engine import clock
from dispatch.redis_conn import get_redis

ROOT = Path(__file__).resolve().parents[3]


def wait_for(check, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_sigterm_releases_the_lock_and_exits_0(engine_app, backend):
    redis = get_redis()
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": engine_app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": engine_app.config["REDIS_URL"],
           "LOA_INSTANCE_PATH": engine_app.instance_path}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "clock", "--interval", "0.2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # It ticks: the lock is taken at least once, seen from here.
        assert wait_for(lambda: redis.exists(clock.LOCK)), \
            proc.stdout.read1().decode() if proc.poll() is not None else "no tick"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read().decode()
    assert "clock stopped" in output, output
    # A killed clock would leave its lock for 15 s; a stopped one leaves none.
    assert not redis.exists(clock.LOCK)


def test_a_tick_longer_than_the_lock_never_releases_the_next_clocks_lock(engine_app, backend,
                                                                         monkeypatch):
    redis = get_redis()
    stop = threading.Event()

    def slow_tick(config):
        # While this tick ran, its lock expired and another host's clock took it.
        redis.set(clock.LOCK, "other-clock", ex=30)
        stop.set()
        return {}

    monkeypatch.setattr(clock, "tick", slow_tick)
    clock.run_forever(engine_app.config, 0.1, stop)
    assert redis.get(clock.LOCK) in (b"other-clock", "other-clock")
