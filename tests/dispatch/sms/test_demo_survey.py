"""The demo's survey as a newcomer's scripts/run plays it: seeded and launched, sent through the
smpp process to the SMSC stand-in, answered by the stand-in (`flask demo answers`, over its HTTP
control) and counted by locality on the results page."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import select

from dispatch import demo
from dispatch.extensions import db
from dispatch.models import Contact
from dispatch.models.replies import Reply
from dispatch.reports import places
from scripts.harness import wait_for
from scripts.smsc.control import serve
from tests.helpers.browser import Browser
from tests.helpers.engine import work
from tests.helpers.factories import make_user
from tests.helpers.report_pages import cells, vi
from tests.helpers.sms import counts


def _replies(campaign_id: int) -> list[Reply]:
    db.session.rollback()
    return list(db.session.scalars(select(Reply).where(Reply.campaign_id == campaign_id)))


def test_the_demo_survey_is_answered_through_the_stand_in(app: Any, redis: Any, smsc: Any,
                                                         account: Any, smpp: Any,
                                                         backend: str) -> None:
    control = serve(smsc, port=0)
    url = f"http://127.0.0.1:{control.server_port}"
    runner = app.test_cli_runner()
    try:
        seeded = runner.invoke(args=["demo", "seed", "--contacts", "60", "--devices", "2"])
        assert seeded.exit_code == 0, seeded.output
        c = demo.survey_campaign()
        assert c is not None and c.reply_mode == "survey"
        assert f"campaign {c.id}: a survey of phase 1, launched" in seeded.output
        assert f"/campaigns/{c.id}/report" in seeded.output
        # Before anything sent it, the stand-in is not asked (a short timeout here).
        early = runner.invoke(args=["demo", "answers", "--control", url, "--timeout", "1"])
        assert early.exit_code == 1 and "was not sent within 1 s" in early.output, early.output

        work()  # the expansion the launch enqueued
        smpp()
        answered = runner.invoke(args=["demo", "answers", "--control", url, "--timeout", "60"])
        assert answered.exit_code == 0, answered.output
        said = re.search(r"answered the demo survey \(campaign (\d+)\): (\d+) of the (\d+) "
                         r"numbers it reached \((.*)\)", answered.output)
        assert said and int(said.group(1)) == c.id, answered.output
        sent = {k: int(n) for k, n in (p.split(": ") for p in said.group(4).split(", "))}
        reached = sum(counts(c.id)[s] for s in ("submitted", "delivered"))
        assert int(said.group(3)) == reached > 50  # every number the survey reached was asked
        answering = sum(sent.values())
        assert int(said.group(2)) == answering
        assert 0 < answering < reached and all(sent[k] for k in ("1", "2", "free")), sent
        assert wait_for(lambda: len(_replies(c.id)) == answering, timeout=30), (
            len(_replies(c.id)), sent)

        # Counted per choice exactly as the stand-in answered, free texts apart.
        rows = _replies(c.id)
        assert Counter(r.choice for r in rows if r.counted) == {
            k: n for k, n in sent.items() if k != "free"}
        assert sum(1 for r in rows if r.kind == "free") == sent["free"]
        # By district, counted here from the contacts' own localities.
        known = places.names()
        with app.test_request_context():  # the name of "no locality" is in the reader's words
            where = {contact.msisdn: places.district(contact.locality_id, known)
                     for contact in db.session.scalars(select(Contact))}
        expected = Counter(where[r.msisdn] for r in rows if r.counted)
        assert len(expected) > 2, expected

        viewer = Browser(app, make_user("lanhdao", ["approver"]))
        page = viewer.client.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
        for name, n in expected.items():
            assert cells(page, "survey-localities", name)[1] == vi(n), name
        assert page.count('<tr data-row="', page.index('data-table="survey-localities"'),
                          page.index('data-table="survey-operators"')) >= len(expected)
        assert "Ông/bà có đồng ý với định hướng phát triển của dự thảo?" in page

        # A second run of scripts/run: the survey has its answers, the stand-in is not asked.
        again = runner.invoke(args=["demo", "answers", "--control", url, "--timeout", "1"])
        assert again.exit_code == 0 and "has its answers already" in again.output, again.output
        assert len(_replies(c.id)) == answering
    finally:
        control.shutdown()
