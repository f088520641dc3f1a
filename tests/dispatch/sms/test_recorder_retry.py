"""The outcome recorder's retry after a write whose COMMIT went through but whose answer was
lost (a database restart at that instant): the retry writes only the rows still `sending`."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.models import MessagePart
from dispatch.sms import recorder
from scripts.harness import wait_for
from tests.helpers.sms import counts, queue_rows


def test_a_retry_after_a_lost_commit_answer_writes_nothing_twice(
        app, redis, smsc, account, campaign, smpp, backend, monkeypatch, caplog):
    real, calls = recorder.write_outcomes, []

    def commit_then_lose_the_answer(account_id, batch, *, again=False):
        later = real(account_id, batch, again=again)
        calls.append((len(batch), again))
        if len(calls) == 1:
            db.session.commit()
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return later

    monkeypatch.setattr(recorder, "write_outcomes", commit_then_lose_the_answer)
    queue_rows(campaign, account, 20)
    smpp()
    with caplog.at_level(logging.WARNING, logger="dispatch.sms.recorder"):
        assert wait_for(lambda: counts(campaign.id)["delivered"] == 20), counts(campaign.id)
        # The first write went through: its rows are delivered before its retry (1 s later),
        # which must then succeed (`calls` only notes writes that returned).
        assert wait_for(lambda: any(again for _, again in calls)), calls
    parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart))
    assert parts == 20  # one per row: the retry did not insert the first write's parts again
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("trying again" in w for w in warnings) == 1  # the failure made up here, only
    assert not [w for w in warnings if "could not be recorded" in w]
