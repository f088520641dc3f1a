"""The clock rides out a Redis outage: it keeps ticking once Redis is back, on its own.

Found by the Redis restart drill (scripts/drills/redis_restart.py): the clock took its lock
outside the tick's error handling, so the first tick while Redis was down raised out of
`run_forever` and the process exited; nothing re-enqueued the jobs Redis had lost and the
campaign never completed.
"""

from __future__ import annotations

import threading
import time

import redis as redis_lib

from dispatch.engine import clock
from scripts.harness import Redis, wait_for


def test_the_clock_keeps_ticking_through_a_redis_restart(engine_app, backend, tmp_path,
                                                         monkeypatch):
    server = Redis(tmp_path / "redis").start()  # one this test may kill
    client = redis_lib.Redis.from_url(server.url)
    # What get_redis() returns in the clock.
    monkeypatch.setitem(engine_app.extensions, "loa_redis", client)
    ticks: list[float] = []
    real_tick = clock.tick

    def counted(config):
        ticks.append(time.monotonic())
        return real_tick(config)

    stop = threading.Event()

    def run() -> None:
        with engine_app.app_context():
            clock.run_forever(engine_app.config, 0.05, stop)

    clock_thread = threading.Thread(target=run, daemon=True)
    monkeypatch.setattr(clock, "tick", counted)
    try:
        clock_thread.start()
        assert wait_for(lambda: len(ticks) >= 2, 30)
        server.kill()
        time.sleep(0.5)  # several intervals with no Redis
        assert clock_thread.is_alive(), "the clock ended when Redis went away"
        server.start()  # empty, on the same socket
        seen = len(ticks)
        assert wait_for(lambda: len(ticks) > seen + 1, 30), "no tick after Redis came back"
        assert clock_thread.is_alive()
    finally:
        stop.set()
        clock_thread.join(10)
        server.kill()
        client.close()
