"""Campaigns launched back to back each start expanding at once, with a worker waiting for them.

Found in production: a launch stalled 124 s. The enqueue pushed the expand job, then marked the
expansion as held by "a job waiting for a worker"; a worker idle on the queue started the job
in between, the late mark overwrote the run's token, the run stepped aside at its first batch
("another expansion run took over; this one stops") and nothing ran until the mark expired and
the clock enqueued the expansion again. Now the mark is set before the job exists
(dispatch/engine/enqueue.py, "Who holds a campaign's expansion").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue, Worker
from sqlalchemy import func, select

from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, Message
from scripts.harness import wait_for
from tests.helpers.engine import launched
from tests.helpers.factories import add_account, add_contacts

ROOT = Path(__file__).resolve().parents[3]
CAMPAIGNS = 16


@pytest.fixture()
def worker(engine_app: Any, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`flask worker` as a process of its own, on the test's database and Redis."""
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": engine_app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": engine_app.config["REDIS_URL"],
           "LOA_INSTANCE_PATH": engine_app.instance_path}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: Worker.all(connection=get_redis()) or proc.poll() is not None,
                        60) and proc.poll() is None, log.read_text()[-3000:]
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.postgres_only  # the hand-over is Redis's; PostgreSQL takes two writing processes
def test_campaigns_launched_back_to_back_each_expand_without_waiting_for_their_mark_to_expire(
        engine_app, people, backend, worker, monkeypatch):
    proc, log = worker
    add_account(is_default=True)
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(3)])
    ready = [launched(people, launch=False, audience={"lists": [lst.id]})
             for _ in range(CAMPAIGNS)]
    # The launching process is descheduled right after it pushes each job (a loaded web host)
    # until the waiting worker's run has taken the expansion: whatever the launch does in Redis
    # after the push then comes after the run's start, which is what happened in production.
    real_enqueue = Queue.enqueue
    redis = get_redis()

    def enqueue_then_stall(self: Queue, *args: Any, **kwargs: Any) -> Any:
        job = real_enqueue(self, *args, **kwargs)
        key = keys.expand_heartbeat(args[1])
        deadline = time.monotonic() + 2
        while redis.get(key) in (None, b"queued") and time.monotonic() < deadline:
            time.sleep(0.0005)
        return job

    monkeypatch.setattr(Queue, "enqueue", enqueue_then_stall)
    ids = []
    for c in ready:
        service.launch(c, actor=people["approver"])
        db.session.commit()
        ids.append(c.id)

    def expanded() -> dict[int, Any]:
        db.session.rollback()
        return dict(db.session.execute(
            select(Campaign.id, Campaign.expanded_at)
            .where(Campaign.id.in_(ids), Campaign.expanded_at.is_not(None))).all())

    # A superseded run may have written rows already (an audience this small is one batch):
    # what tells a stalled expansion is that it does not finish before its mark expires (the
    # heartbeat, 120 s here; nothing but the clock, not running, would start it again). A
    # second or so each on a quiet machine; a loaded one may take a few.
    wait_for(lambda: len(expanded()) == CAMPAIGNS, 60)
    done = expanded()
    launched_at = dict(db.session.execute(
        select(Campaign.id, Campaign.launched_at).where(Campaign.id.in_(ids))).all())
    late = {i: round((done[i] - launched_at[i]).total_seconds(), 2) if i in done else None
            for i in ids}
    late = {i: s for i, s in late.items() if s is None or s >= 10.0}
    assert not late, f"campaign: seconds to expanded {late}\n{log.read_text()[-3000:]}"
    assert db.session.scalar(select(func.count()).where(Message.campaign_id.in_(ids))) \
        == 3 * CAMPAIGNS
    assert proc.poll() is None
