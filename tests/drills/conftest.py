"""Kill drills as tests: a whole stack per test (scripts/drills/stack.py), one fault, figures.

Each test starts its own Redis, stand-ins and Loa processes, against a fresh PostgreSQL schema
(the machine's `test` database, or TEST_DATABASE_URL) or a SQLite file: the processes share
nothing with the rest of the suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from scripts.drills.stack import Stack
from scripts.harness import pg_server

IN_CI = os.environ.get("CI", "").lower() == "true"


def stack_database(backend: str) -> str | None:
    """What Stack takes as database_url: "sqlite", or None for a fresh PostgreSQL schema."""
    if backend == "sqlite":
        return "sqlite"
    url = pg_server()
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {url}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {url}")
    finally:
        engine.dispose()
    return None


@pytest.fixture()
def make_stack(backend: str) -> Iterator[Any]:
    """Start a stack on this test's backend; stopped (and its schema dropped) afterwards."""
    stacks: list[Stack] = []

    def make(**kwargs: Any) -> Stack:
        stack = Stack(database_url=stack_database(backend), **kwargs)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()


