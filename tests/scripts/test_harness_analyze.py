"""The benchmarks' ANALYZE takes their own schema's tables only: a bare ANALYZE took every
schema of the shared database and deadlocked the TRUNCATE of tests running beside it."""

from __future__ import annotations

import sqlalchemy as sa

from scripts.harness import PgSchema, analyze


def _analyzed(engine: sa.Engine, schema: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = :s "
            "AND last_analyze IS NOT NULL"), {"s": schema}).scalars())


def test_analyze_takes_this_schemas_tables_and_no_other() -> None:
    with PgSchema("loa_an") as mine, PgSchema("loa_an") as theirs:
        engines = [sa.create_engine(s.url, isolation_level="AUTOCOMMIT") for s in (mine, theirs)]
        try:
            for engine in engines:
                with engine.connect() as conn:
                    conn.execute(sa.text("CREATE TABLE t (id int)"))
                    conn.execute(sa.text("INSERT INTO t SELECT generate_series(1, 100)"))
            with engines[0].connect() as conn:
                analyze(conn)
            assert _analyzed(engines[0], mine.name) == {"t"}
            assert _analyzed(engines[1], theirs.name) == set()
        finally:
            for engine in engines:
                engine.dispose()
