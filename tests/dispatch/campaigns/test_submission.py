"""Submission: the content is frozen in the request, the recipients by a job that a worker runs
(dispatch.campaigns.submission); the campaign is `submitting` in between."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from rq import Queue
from sqlalchemy import func, select

from dispatch import jobs
from dispatch.campaigns import frozen, submission
from dispatch.engine import clock, enqueue
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import CampaignMember
from tests.helpers.engine import freeze_now, work


def members(cid: int) -> int:
    db.session.rollback()  # what is committed
    return int(db.session.scalar(select(func.count()).select_from(CampaignMember).where(
        CampaignMember.campaign_id == cid)) or 0)


def trail(flow: Any, cid: int) -> list[dict[str, Any]]:
    return flow.as_("approver").get(f"/api/campaigns/{cid}/audit").json["items"]


def test_a_submission_awaits_approval_once_a_worker_froze_its_recipients(flow, redis, backend):
    c = flow.create()
    s = flow.ok("editor", c["id"], "submit")
    assert s["status"] == "submitting" and s["snapshot_hash"] and s["submitted_at"]
    assert members(c["id"]) == 0  # the request wrote the snapshot, not the members
    refused = flow.act("approver", c["id"], "approve", snapshot_hash=s["snapshot_hash"])
    assert refused.status_code == 409 and refused.json["code"] == "invalid_transition"
    work()  # a worker takes the job from its queue
    got = flow.get(c["id"], "approver")
    assert got["status"] == "pending_approval" and got["allowed_actions"] == ["approve", "reject"]
    assert members(c["id"]) == 1
    done = trail(flow, c["id"])[-1]
    assert (done["action"], done["actor_id"]) == ("campaign.frozen", None)  # the system
    assert (done["details"]["from"], done["details"]["to"]) == ("submitting", "pending_approval")
    assert done["details"]["frozen_reach"]["sms"]["recipients"] == 1
    assert flow.ok("approver", c["id"], "approve",
                   snapshot_hash=s["snapshot_hash"])["status"] == "approved"


def test_an_urgent_submission_is_frozen_from_the_urgent_queue(flow, redis, backend):
    c = flow.create(priority="urgent")
    flow.ok("editor", c["id"], "submit")
    assert Queue("urgent", connection=redis).count == 1
    assert Queue("default", connection=redis).count == 0


def test_withdrawn_before_a_worker_came_nothing_is_frozen(flow, redis, backend):
    c = flow.to("submitting")
    assert flow.ok("editor", c["id"], "reopen")["status"] == "draft"
    assert freeze_now(c["id"]) == "not submitting"
    assert flow.get(c["id"])["status"] == "draft" and members(c["id"]) == 0


@pytest.mark.postgres_only  # SQLite holds one writer at a time: there the withdrawal waits
def test_a_withdrawal_during_the_freeze_is_not_kept_waiting_and_wins(flow, redis, backend,
                                                                     monkeypatch):
    c = flow.to("submitting")
    real, answers = frozen.figures, []

    def figures_then_withdraw(campaign: Any) -> Any:
        out = real(campaign)  # the members are written, not committed
        clerk = threading.Thread(target=lambda: answers.append(
            flow.act("editor", c["id"], "reopen").status_code))
        clerk.start()
        clerk.join(10)
        return out

    monkeypatch.setattr(frozen, "figures", figures_then_withdraw)
    assert freeze_now(c["id"]) == "changed meanwhile"
    assert answers == [200]  # answered while the freeze's transaction was still open
    got = flow.get(c["id"])
    assert got["status"] == "draft" and got["snapshot_hash"] is None
    assert members(c["id"]) == 0
    assert [e["action"] for e in trail(flow, c["id"])][-2:] == ["campaign.submit",
                                                                 "campaign.reopen"]


@pytest.mark.postgres_only
def test_a_freeze_begun_before_a_new_submission_does_not_pass_for_it(flow, redis, app, backend,
                                                                     monkeypatch):
    """Withdrawn and submitted again while a run froze the first submission: status and version
    are as they were, the submission time is not; that run gives way and the clock has the new
    submission frozen."""
    c = flow.to("submitting")
    real, answers = frozen.figures, []

    def figures_then_resubmit(campaign: Any) -> Any:
        out = real(campaign)

        def clerk() -> None:
            answers.append(flow.act("editor", c["id"], "reopen").status_code)
            time.sleep(0.01)  # a submission time of its own
            answers.append(flow.act("editor", c["id"], "submit").status_code)

        thread = threading.Thread(target=clerk)
        thread.start()
        thread.join(10)
        return out

    monkeypatch.setattr(frozen, "figures", figures_then_resubmit)
    assert freeze_now(c["id"]) == "changed meanwhile"
    monkeypatch.undo()
    assert answers == [200, 200]
    resubmitted = flow.get(c["id"])
    assert resubmitted["status"] == "submitting" and members(c["id"]) == 0
    # The new submission's enqueue found the first run holding the freeze: no job of its own.
    assert clock.tick(app.config).get("freeze_restarted") == 1
    assert freeze_now(c["id"]) == "frozen"
    assert flow.get(c["id"])["status"] == "pending_approval" and members(c["id"]) == 1
    frozen_at = trail(flow, c["id"])[-1]["details"]["frozen_reach"]["at"]
    assert frozen_at > resubmitted["submitted_at"][:26]


def test_a_lost_freeze_job_is_enqueued_again_by_the_clock_once(flow, redis, app, backend):
    c = flow.to("submitting")
    redis.flushdb()  # Redis lost its data: the job and its mark
    assert clock.tick(app.config).get("freeze_restarted") == 1
    for _ in range(2):  # waiting for a worker: not enqueued again
        assert "freeze_restarted" not in clock.tick(app.config)
    work()
    assert flow.get(c["id"])["status"] == "pending_approval" and members(c["id"]) == 1
    assert "freeze_restarted" not in clock.tick(app.config)  # nothing is submitting any more


def test_a_long_freeze_keeps_its_hold_and_a_dead_one_lapses(flow, redis, app, backend,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "EXPAND_HEARTBEAT_SECONDS", 1)
    c = flow.to("submitting")
    key, real, seen = keys.freeze_heartbeat(c["id"]), frozen.figures, []

    def slow(campaign: Any) -> Any:
        for _ in range(4):  # 2 s: twice the heartbeat, renewed every quarter of it
            time.sleep(0.5)
            seen.append((redis.get(key), enqueue.enqueue_freeze(c["id"], False)))
        return real(campaign)

    monkeypatch.setattr(frozen, "figures", slow)
    assert freeze_now(c["id"]) == "frozen"
    assert all(holder not in (None, b"queued") and not enqueued for holder, enqueued in seen)
    assert redis.get(key) is None  # let go at the end
    # A run that died: its hold lapses after the heartbeat, and only then is a new job enqueued.
    redis.set(key, "a-run-that-died", ex=1)
    assert not enqueue.enqueue_freeze(c["id"], False)
    time.sleep(1.2)
    assert enqueue.enqueue_freeze(c["id"], False)


def test_a_freeze_that_fails_returns_the_campaign_to_its_authors(flow, redis, backend,
                                                                 monkeypatch):
    c = flow.to("submitting")

    def broken(campaign: Any) -> Any:
        raise ValueError("an audience Loa cannot count")

    monkeypatch.setattr(frozen, "figures", broken)
    assert freeze_now(c["id"]) == "failed"
    monkeypatch.undo()
    got = flow.get(c["id"])
    assert got["status"] == "draft" and got["snapshot_hash"] is None
    assert got["submitted_at"] is None and members(c["id"]) == 0
    failed = trail(flow, c["id"])[-1]
    assert (failed["action"], failed["actor_id"]) == ("campaign.freeze_failed", None)
    assert failed["reason"] == "freeze_failed?error=ValueError"
    assert flow.submit(c["id"])["status"] == "pending_approval"  # and it can go again


def freeze_runs_left(redis: Any) -> int:
    """Freeze jobs waiting on the queues."""
    return sum(Queue(name, connection=redis).count for name in ("urgent", "default"))


@pytest.mark.postgres_only  # a real statement timeout: PostgreSQL cancels the freeze's query
def test_a_freeze_the_database_cancels_every_time_goes_back_to_draft(flow, redis, app, backend,
                                                                    monkeypatch):
    """An OperationalError that is not a lost connection fails every run alike: after ATTEMPTS
    runs through a worker the campaign is a draft again, saying why, and the clock has nothing
    more to run (it had enqueued it again after every run, for ever)."""
    c = flow.to("submitting")
    real = frozen.figures

    def cancelled(campaign: Any) -> Any:
        db.session.execute(sa.text("SET LOCAL statement_timeout = '20ms'"))
        db.session.execute(sa.text("SELECT pg_sleep(1)"))  # QueryCanceled
        return real(campaign)

    monkeypatch.setattr(frozen, "figures", cancelled)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    for run in range(1, submission.ATTEMPTS):
        work()  # the run fails; it is recorded, the campaign still submitting
        assert flow.get(c["id"])["status"] == "submitting" and freeze_runs_left(redis) == 0
        retry = trail(flow, c["id"])[-1]
        assert (retry["action"], retry["actor_id"]) == ("campaign.freeze_retry", None)
        assert retry["reason"] == (f"freeze_retry?error=QueryCanceled&attempt={run}"
                                   f"&attempts={submission.ATTEMPTS}")
        assert clock.tick(app.config).get("freeze_restarted") == 1
    work()
    got = flow.get(c["id"])
    assert got["status"] == "draft" and got["snapshot_hash"] is None and members(c["id"]) == 0
    failed = trail(flow, c["id"])[-1]
    assert (failed["action"], failed["actor_id"]) == ("campaign.freeze_failed", None)
    assert failed["reason"] == f"freeze_gave_up?error=QueryCanceled&attempts={submission.ATTEMPTS}"
    assert "freeze_restarted" not in clock.tick(app.config)
    assert freeze_runs_left(redis) == 0
    monkeypatch.undo()
    assert flow.submit(c["id"])["status"] == "pending_approval"  # a new submission, new count


def test_a_database_away_costs_no_attempt_however_many_runs_fail(flow, redis, app, backend,
                                                                  monkeypatch):
    """While the database is away (every statement fails, as during a PostgreSQL restart) a
    failed run cannot be recorded, so it does not count: once back, the freeze goes through."""
    c = flow.to("submitting")
    dbapi = db.engine.dialect.loaded_dbapi

    def away(*args: Any) -> None:
        raise dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    sa.event.listen(db.engine, "before_cursor_execute", away)
    try:
        for _ in range(submission.ATTEMPTS + 1):
            work()  # fails, not recorded
            assert enqueue.enqueue_freeze(c["id"], False)  # as the clock would, and does below
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", away)
    assert flow.get(c["id"])["status"] == "submitting"
    assert "campaign.freeze_retry" not in [e["action"] for e in trail(flow, c["id"])]
    work()
    assert flow.get(c["id"])["status"] == "pending_approval" and members(c["id"]) == 1
