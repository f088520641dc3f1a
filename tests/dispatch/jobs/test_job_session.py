"""A job that failed leaves a usable session to the next job run in the same app context.

The smpp process runs its SMS jobs one after another in one thread and one app context. Found by
the PostgreSQL restart drill (scripts/drills/postgres_restart.py): a COMMIT cut by the restart
left that thread's session in the 'prepared' state, nothing rolled it back, and every later SMS
job failed at its first query ("This session is in 'prepared' state"): no SMS was sent again
and the campaign never completed.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.jobs import in_app_context


@in_app_context
def commit_cut_by_the_server() -> None:
    """A job whose COMMIT fails because the server ended its connection meanwhile."""
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    with db.engine.connect() as other:  # as a `pg_ctl restart -m fast` does to every session
        other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()


@in_app_context
def read_something() -> int:
    return int(db.session.scalar(sa.text("SELECT 1")) or 0)


@pytest.mark.postgres_only
def test_the_next_job_after_a_cut_commit_can_use_the_database(app, backend) -> None:
    with pytest.raises(sa.exc.OperationalError):
        commit_cut_by_the_server()
    assert read_something() == 1


@in_app_context
def backend_pid() -> int:
    """A job that reads: the session begins a transaction the job never ends itself."""
    return int(db.session.scalar(sa.text("SELECT pg_backend_pid()")) or 0)


@pytest.mark.postgres_only
def test_the_worker_leaves_no_transaction_open_between_jobs(app, backend, redis) -> None:
    # `flask worker` runs every job in its one app context: a session left open after a job
    # kept its connection 'idle in transaction' until the next job, holding back vacuum.
    from rq import Queue

    from dispatch.jobs import Worker

    job = Queue("default", connection=redis).enqueue(backend_pid)
    Worker(["default"], connection=redis).work(burst=True)
    pid = job.return_value()
    assert pid
    with db.engine.connect() as other:
        state = other.scalar(sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                             {"pid": pid})
    assert state in (None, "idle"), state
