"""kill -9 of an RQ worker (`flask worker`) during expansion and during push batches, then a
restart: nothing sent twice, nothing lost.

During expansion: the batches committed stay (rows and checkpoint in one transaction), the
clock enqueues the expansion again once its heartbeat lapses, and it continues after the
checkpoint without writing a row twice; rows committed whose send jobs were never enqueued are
orphans the clock enqueues. During a push batch: the claimed rows (one job, at most 500) become
`unknown` after the claim timeout (FCM may have taken them: never resent), the rest are sent.
"""

from __future__ import annotations

import sqlalchemy as sa

from scripts.drills import campaign
from scripts.drills.stack import Stack
from scripts.harness import wait_for
from tests.helpers.drills import COMPLETE_WITHIN, accepted_per_destination, explain

EXPAND_JOB = "dispatch.engine.expand.expand"
PUSH_JOB = "dispatch.push.send.send_batch"


def _expanded(stack: Stack, cid: int) -> bool:
    from dispatch.extensions import db
    from dispatch.models import Campaign

    assert stack.app is not None
    with stack.app.app_context():
        done = db.session.scalar(sa.select(Campaign.expanded_at).where(Campaign.id == cid))
        db.session.remove()
        return done is not None


def _started_jobs(stack: Stack) -> list[str]:
    """Ids of the jobs RQ marked started on the ordinary queues (a cheap look, no worker scan)."""
    from rq.registry import StartedJobRegistry

    from dispatch.jobs.redis_conn import get_redis

    assert stack.app is not None
    with stack.app.app_context():
        conn = get_redis(stack.app)
        return [job_id for name in ("urgent", "default")
                for job_id in StartedJobRegistry(name, connection=conn).get_job_ids()]


def test_kill_9_of_the_worker_during_expansion_then_restart(make_stack, backend):
    contacts = 1000
    stack = make_stack(workers=1)
    seeded = campaign.seed(stack, contacts=contacts, tps=10_000)
    stack.wait_ready()
    cid = campaign.launch(stack, seeded)
    # The moment RQ hands the expand job to the worker, kill it: mid-expansion.
    wait_for(lambda: _started_jobs(stack), 30, "the expand job started", interval=0.005)
    stack.kill("worker.1")
    assert not _expanded(stack, cid)  # the kill did land before the expansion finished
    stack.start_process("worker.1")

    assert campaign.wait_completed(stack, cid, timeout=COMPLETE_WITHIN), (
        campaign.status_counts(stack, cid), explain(stack))
    result = campaign.figures(stack, cid, seeded, 0.0)
    sent = accepted_per_destination(stack)
    assert result.duplicates == 0 and result.lost == 0, result
    # Nothing was claimed when the worker died (expansion claims nothing): no unknown at all,
    # every contact got exactly one row and one submit.
    assert result.unknown == 0 and result.delivered == contacts, result
    assert len(sent) == contacts and set(sent.values()) == {1}


def test_kill_9_of_a_worker_during_push_batches_then_restart(make_stack, backend):
    devices = 2000
    # Every FCM request answers after 300 ms, so a batch of 500 is in flight long enough to
    # be killed mid-request.
    stack = make_stack(workers=2, fcm=True, fcm_args=("--latency-ms", "300"))
    seeded = campaign.seed(stack, contacts=0, devices=devices)
    stack.wait_ready()
    cid = campaign.launch(stack, seeded, channels="push")

    def claimed_by_a_running_batch() -> list[str]:
        return stack.running(PUSH_JOB) if campaign.sending_now(stack, cid) else []

    victims = wait_for(claimed_by_a_running_batch, 40, "a push batch in flight",
                       interval=0.02)
    victim = victims[0]
    stack.kill(victim)
    in_flight = campaign.sending_now(stack, cid)
    at_kill = campaign.status_counts(stack, cid)
    stack.start_process(victim)

    assert campaign.wait_completed(stack, cid, timeout=COMPLETE_WITHIN), (
        campaign.status_counts(stack, cid), explain(stack))
    result = campaign.figures(stack, cid, seeded, 0.0)
    by_token = stack.fcm_counters()["by_token"]
    assert max(by_token.values()) == 1, [t for t, n in by_token.items() if n > 1][:10]
    assert result.duplicates == 0 and result.lost == 0, result
    assert at_kill.get("push.queued", 0) > 0, at_kill  # the kill did land mid-campaign
    # What the killed worker had claimed (one batch, at most 500 rows) and only that; another
    # worker's batch in flight at the same moment went on.
    assert result.unknown <= min(in_flight, 500), (result, in_flight)
    assert result.submitted + result.unknown == devices, result
