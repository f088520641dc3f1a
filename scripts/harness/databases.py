"""PostgreSQL for one run: a schema (or a whole database) of its own on a shared server, created
at the start and dropped at the end, so concurrent runs on one machine never collide.

The server is the first of the given environment variables that is set (by default
TEST_DATABASE_URL), else the machine's `test` database on 127.0.0.1:5432, trust authentication.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.harness.procs import live_cpu_seconds

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_server(*variables: str) -> str:
    """The server's URL, with the psycopg (3) driver named."""
    url = next((os.environ[v] for v in variables or ("TEST_DATABASE_URL",) if os.environ.get(v)),
               DEFAULT_PG)
    if "+" not in url.split("://", 1)[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def _admin(url: str, sql: str) -> None:
    # An engine per statement: nothing stays connected, so the server may restart in between.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def analyze(conn: sa.Connection) -> None:
    """Fresh statistics for this run's own tables. A bare ANALYZE on PostgreSQL takes every
    table of the database, other runs' schemas included, and holds their locks until commit:
    it deadlocked the TRUNCATEs of tests running beside a benchmark."""
    if conn.dialect.name != "postgresql":
        conn.execute(sa.text("ANALYZE"))
        return
    tables = conn.execute(sa.text(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars().all()
    if tables:
        conn.execute(sa.text("ANALYZE " + ", ".join(tables)))


class PgSchema:
    """`CREATE SCHEMA <prefix>_<random>` on the server; `url` connects with it as the search_path.
    Raises sqlalchemy's OperationalError when the server is unreachable (the caller decides
    whether that skips or fails)."""

    def __init__(self, prefix: str = "loa", server: str | None = None) -> None:
        self.server = server or pg_server()
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        _admin(self.server, f"CREATE SCHEMA {self.name}")
        self.dropped = False
        sep = "&" if "?" in self.server else "?"
        self.url = f"{self.server}{sep}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        """DROP SCHEMA … CASCADE (once)."""
        if not self.dropped:
            _admin(self.server, f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
            self.dropped = True

    def __enter__(self) -> PgSchema:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.drop()


def fresh_pg_database(prefix: str = "loa_bench") -> tuple[str, str, Callable[[], None]]:
    """CREATE DATABASE with a new name (for figures that a shared database's other schemas
    must not disturb: its statistics, its size); returns (url, name, drop). `drop` ends whatever
    connections are left (a killed child's) and drops it."""
    base = sa.engine.make_url(pg_server())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), name, drop


class Database:
    """A whole stack's database: `database_url` when given, a file in `workdir` for "sqlite",
    else a PgSchema on DRILL_DATABASE_URL's or TEST_DATABASE_URL's server, dropped by drop()."""

    def __init__(self, database_url: str | None, workdir: Path, prefix: str = "loa_drill") -> None:
        self.schema: PgSchema | None = None
        if database_url == "sqlite":
            self.url = f"sqlite:///{workdir / 'loa.db'}"
        elif database_url:
            self.url = database_url
        else:
            self.schema = PgSchema(prefix, pg_server("DRILL_DATABASE_URL", "TEST_DATABASE_URL"))
            self.url = self.schema.url

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def drop(self) -> None:
        if self.schema is not None:
            self.schema.drop()


class BackendCpu:
    """The CPU (user + system, from /proc) of the PostgreSQL backends whose `application_name`
    is `name`, from `start` to `stop`, sampled every `interval` seconds on a thread of its own.

    Backends come and go during a run (a pool recycles, a process reconnects): each one found is
    counted from its first sight to its last, or from 0 when the backend started after the run
    did (none of its CPU came before). What a backend spends between its last sample and its
    end (under `interval`) is missed. The sampler's own connection has a name of its own, so
    it is not counted. The server must run on this machine (its backends' /proc)."""

    def __init__(self, url: str, name: str, interval: float = 0.5) -> None:
        self.name = name
        self.interval = interval
        base = sa.engine.make_url(url)
        query = {k: v for k, v in base.query.items() if k != "application_name"}
        self.engine = sa.create_engine(
            base.set(query={**query, "application_name": f"{name}-sampler"}))
        self.first: dict[tuple[int, float], float] = {}
        self.last: dict[tuple[int, float], float] = {}
        self.started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackendCpu:
        self.started = time.time()
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="backend-cpu", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stops sampling (after a last sample); the CPU seconds of the backends seen."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.sample()
        self.engine.dispose()
        return self.seconds()

    def seconds(self) -> float:
        return sum(self.last[key] - self.first[key] for key in self.last)

    @property
    def backends(self) -> int:
        """How many backends were seen."""
        return len(self.last)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity "
                "WHERE application_name = :n"), {"n": self.name}).all()
        for pid, backend_start in rows:
            cpu = live_cpu_seconds(pid)
            if cpu is None:  # ended since the query
                continue
            # (pid, start): a pid the system reuses for another backend is another backend.
            key = (pid, float(backend_start))
            if key not in self.first:
                self.first[key] = 0.0 if key[1] >= self.started else cpu
            self.last[key] = cpu

