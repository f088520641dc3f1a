"""Background jobs on RQ: queues, the app context jobs run in, and the worker command.

Jobs take ids, not objects, and are idempotent (DESIGN.md invariant 2): they are enqueued only
after the transaction that makes them necessary has committed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from rq import Queue, SimpleWorker
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from dispatch.extensions import db

# Highest priority first: a worker always drains `urgent` before looking at `default`.
QUEUES = ("urgent", "default", "low")

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

log = logging.getLogger(__name__)

_worker_app: Flask | None = None


def queue(name: str = "default", app: Flask | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    # Imported here: `python -m dispatch.jobs.redis_conn` (scripts/run, scripts/test) imports this
    # package first, and a submodule imported before it runs as __main__ is run twice.
    from dispatch.jobs.redis_conn import get_redis

    return Queue(name, connection=get_redis(app))


class Worker(SimpleWorker):
    """RQ's non-forking worker, ending the database session after every job.

    Its jobs share the one app context the worker runs in, so without this the session (and
    its connection, idle in a transaction) outlives the job until the next one: that holds
    back PostgreSQL's vacuum on the ledger for as long as the worker sits idle.
    """

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return bool(super().perform_job(*args, **kwargs))
        finally:
            db.session.remove()


@contextlib.contextmanager
def rolled_back_on_failure() -> Iterator[None]:
    """Roll the session back when the block fails, then let the failure propagate.

    A thread or a worker that runs one job (or one tick, one batch) after another in one app
    context must not hand the next one an unusable session: a COMMIT cut by a database restart
    leaves it 'prepared' until rolled back (tests/dispatch/test_job_session.py)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(DBAPIError):
            db.session.rollback()  # on a connection the server ended, this may fail once
        raise


def rerun_on_lost_connection(step: Callable[[int], T], *, what: str, tries: int = 5) -> T:
    """Run a database step, and again (1, 2, 3 … s apart, `tries` runs in all) while the
    database connection is lost (a PostgreSQL restart or failover). The step gets its run's
    number: from the second on, the COMMIT that broke may have gone through, so the step writes
    only what is still to be written. The last failure propagates, like any other error."""
    for attempt in range(1, tries):
        try:
            with rolled_back_on_failure():
                return step(attempt)
        except (OperationalError, InterfaceError):
            log.warning("%s failed: database connection lost; trying again", what,
                        exc_info=True)
            time.sleep(attempt)
    with rolled_back_on_failure():
        return step(tries)


def in_app_context(func: F) -> F:
    """The one wrapper of every job: run it in an app context (the worker's own app, created
    once per process, when there is none) and roll the session back when it fails.

    Database steps inside a job that must survive a PostgreSQL restart use
    `rerun_on_lost_connection`; threads that are not jobs use `rolled_back_on_failure`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _worker_app
        if has_app_context():
            # A context that outlives the job (`flask worker`, the smpp process's job thread).
            with rolled_back_on_failure():
                return func(*args, **kwargs)
        if _worker_app is None:
            from dispatch import create_app

            _worker_app = create_app()
        with _worker_app.app_context(), rolled_back_on_failure():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@in_app_context
def ping(value: str) -> str:
    """Answer with the value: lets operators and tests check that workers run jobs."""
    return f"pong {value} from {current_app.name}"
