"""The clock rides out a PostgreSQL restart: it keeps ticking with fresh connections.

Found by the PostgreSQL restart drill (scripts/drills/postgres_restart.py): a tick left its
session's transaction open, the restart ended that connection, and closing the session after the
tick (a ROLLBACK on the dead connection) raised out of `run_forever`: the clock process exited,
and no campaign completed any more.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from dispatch.engine import clock
from dispatch.extensions import db


@pytest.mark.postgres_only
def test_the_clock_keeps_ticking_when_its_connection_is_ended(engine_app, backend, monkeypatch):
    ticks: list[float] = []
    real_tick = clock.tick

    def tick_then_the_server_ends_the_connection(config):
        done = real_tick(config)
        # The tick's session holds a connection in a transaction; a restart ends it.
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with db.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        ticks.append(time.monotonic())
        return done

    monkeypatch.setattr(clock, "tick", tick_then_the_server_ends_the_connection)
    stop = threading.Event()

    def run() -> None:
        with engine_app.app_context():
            clock.run_forever(engine_app.config, 0.05, stop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30  # ticks 0.05 s apart; a loaded machine is slower
        while len(ticks) < 3 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert thread.is_alive(), "the clock ended when its connection was ended"
        assert len(ticks) >= 3
    finally:
        stop.set()
        thread.join(10)
