"""PostgreSQL for one run: a schema (or a whole database) of its own on a shared server, created
at the start and dropped at the end, so concurrent runs on one machine never collide.

The server is the first of the given environment variables that is set (by default
TEST_DATABASE_URL), else the machine's `test` database on 127.0.0.1:5432, trust authentication.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

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
