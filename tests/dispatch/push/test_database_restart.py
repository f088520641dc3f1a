"""A batch FCM has taken keeps its outcomes when the database connection breaks before they are
written: the job writes them again instead of leaving the rows to become `unknown`.

Found by the PostgreSQL restart drill (scripts/drills/postgres_restart.py): a restart while a
worker's batch was at FCM ended each run with that batch `unknown` (500 rows per worker), though
FCM had accepted every push.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dispatch import jobs
from dispatch.extensions import db
from dispatch.models import MessagePart
from dispatch.push import send as push
from dispatch.push.config import gateway
from tests.helpers.push import make_campaign, make_device, queue_rows, statuses


def cut_the_connection_after_sending(monkeypatch) -> None:
    """The gateway sends as usual; then the server ends the job's database connection, as a
    `pg_ctl restart -m fast` does, before the outcomes are written."""
    gw = gateway()
    real_send = gw.send_batch

    def send_batch(messages, **kwargs):
        outcomes = real_send(messages, **kwargs)
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with db.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return outcomes

    monkeypatch.setattr(gw, "send_batch", send_batch)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)


@pytest.mark.postgres_only
def test_outcomes_are_written_again_after_the_connection_broke(app, fcm, backend, monkeypatch):
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(6)]
                     + [make_device("unregistered-x")])
    cut_the_connection_after_sending(monkeypatch)
    counts = push.send_batch(c.id, ids)
    got = statuses(ids)
    assert [got[i] for i in ids[:6]] == [("submitted", None)] * 6
    assert got[ids[6]] == ("failed", "unregistered")
    assert counts["submitted"] == 6 and counts["failed"] == 1
    assert sum(fcm.counters()["by_token"].values()) == 7  # each sent once
    parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart))
    assert parts == 6


@pytest.mark.postgres_only
def test_a_retry_writes_only_what_the_lost_commit_did_not(app, fcm, backend, monkeypatch):
    # The first write commits but the job is told it failed: the retry must not write the
    # same rows again (their parts would collide) nor count them twice.
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(4)])
    real_record = push.record
    calls = []

    def record_then_lose_the_answer(*args, **kwargs):
        later = real_record(*args, **kwargs)
        calls.append(len(args[1]))
        if len(calls) == 1:
            db.session.commit()
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return later

    monkeypatch.setattr(push, "record", record_then_lose_the_answer)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    push.send_batch(c.id, ids)
    assert calls == [4, 0]  # the retry found nothing of its own left `sending`
    assert statuses(ids) == {i: ("submitted", None) for i in ids}
    parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart))
    assert parts == 4


@pytest.mark.postgres_only
def test_a_connection_broken_between_the_claim_and_the_send(app, fcm, backend, monkeypatch):
    # The claim is committed; reading the tokens meets the restart. Found by the drill too
    # (500 claimed rows `unknown`, never sent): the read runs again and the batch goes out.
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(5)] + [make_device(None)])
    real_messages, calls = push._messages, []

    def messages_after_a_restart(*args):
        calls.append(1)
        if len(calls) == 1:
            pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
            with db.engine.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return real_messages(*args)

    monkeypatch.setattr(push, "_messages", messages_after_a_restart)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    counts = push.send_batch(c.id, ids)
    assert len(calls) == 2
    got = statuses(ids)
    assert [got[i] for i in ids[:5]] == [("submitted", None)] * 5
    assert got[ids[5]] == ("failed", "no_token")
    assert counts["submitted"] == 5 and counts["failed"] == 1
    assert sum(fcm.counters()["by_token"].values()) == 5
