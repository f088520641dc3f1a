"""The harness of the scripts and the tests (scripts/harness): processes, waiting, schemas."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from scripts.harness import BackendCpu, PgSchema, Proc, wait_for

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
            "signal.SIG_IGN); print('up', flush=True); time.sleep(60)"]


def test_a_proc_stops_restarts_and_keeps_its_figures(tmp_path: Path) -> None:
    proc = Proc("sleeper", SLEEPER, log=tmp_path / "sleeper.log").start()
    assert proc.alive and proc.returncode is None
    assert wait_for(lambda: "up" in proc.tail(), 10)
    assert proc.stop(5) == -signal.SIGTERM and not proc.alive
    assert proc.result is not None and proc.result["killed"] is False
    assert proc.result["peak_mb"] > 0 and proc.result["cpu_seconds"] is not None
    proc.start()  # the same command again, appended to the same log
    assert proc.alive and proc.starts == 2
    proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert proc.tail().count("=== start") == 2


def test_a_proc_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    proc = Proc("stubborn", STUBBORN, log=tmp_path / "stubborn.log").start()
    assert wait_for(lambda: "up" in proc.tail(), 10)
    started = time.monotonic()
    assert proc.stop(0.5) == -signal.SIGKILL
    assert proc.result is not None and proc.result["killed"] is True
    assert time.monotonic() - started < 10


def test_wait_for_returns_the_value_or_the_last_one_or_raises() -> None:
    values = iter([0, 0, "ready"])
    assert wait_for(lambda: next(values), 5, interval=0.01) == "ready"
    assert wait_for(lambda: [], 0.05, interval=0.01) == []
    with pytest.raises(TimeoutError, match="the moon: not within"):
        wait_for(lambda: False, 0.05, "the moon", interval=0.01)

    def refused() -> bool:
        raise ConnectionRefusedError

    assert wait_for(refused, 0.05, interval=0.01, tolerate=(OSError,)) is None
    with pytest.raises(ConnectionRefusedError):
        wait_for(refused, 0.05, interval=0.01)


@pytest.mark.postgres_only  # schemas are PostgreSQL's
def test_a_schema_of_its_own_is_created_and_dropped(database_url: str, backend: str) -> None:
    with PgSchema("loa_harness", database_url.split("?")[0]) as schema:
        engine = sa.create_engine(schema.url)
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT current_schema()")) == schema.name
            conn.execute(sa.text("CREATE TABLE t (x int)"))
        engine.dispose()
    admin = sa.create_engine(database_url.split("?")[0])
    with admin.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM information_schema.schemata "
                                   "WHERE schema_name = :n"), {"n": schema.name}) == 0
    admin.dispose()


BUSY = "SELECT count(*) FROM generate_series(1, 3000000)"  # ~0.3 s of a backend's CPU


@pytest.mark.postgres_only  # pg_stat_activity and its backends' /proc are PostgreSQL's
def test_backend_cpu_counts_a_backend_that_comes_and_goes_between_samples(
        database_url: str, backend: str) -> None:
    named = f"{database_url.split('?')[0]}?application_name=loa-harness-cpu"
    before = sa.create_engine(named, poolclass=sa.pool.NullPool)
    during = sa.create_engine(named, poolclass=sa.pool.NullPool)
    with before.connect() as conn:
        conn.execute(sa.text(BUSY))  # before the run: not the run's CPU
        sampler = BackendCpu(named, "loa-harness-cpu", interval=1.0).start()
        # A backend of the run, busy before its first sample: counted from 0, not from there.
        with during.connect() as other:
            other.execute(sa.text(BUSY))
            time.sleep(1.2)
        conn.execute(sa.text(BUSY))
        seconds = sampler.stop()
    before.dispose()
    during.dispose()
    assert sampler.backends == 2
    late = next(key for key in sampler.first if key[1] >= sampler.started)
    assert sampler.first[late] == 0 and sampler.last[late] > 0.1
    early = next(key for key in sampler.first if key[1] < sampler.started)
    assert sampler.first[early] > 0.1 and sampler.last[early] - sampler.first[early] > 0.1
    assert 0.2 < seconds < 3  # the two BUSY of the run, not the one before it
