"""Survey results from SQL aggregates: by choice, channel, locality, operator and hour, exact.

The survey is tests/helpers/surveys.py's: counted answers against replaced ones, one over the
daily limit, an opt-out, free text, a stranger and an unattributed reply that never count, and
the response rate against the ledger's delivered SMS and accepted pushes. Both databases: the
GROUP BYs and the local-time buckets are the dialects' own SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.extensions import db
from dispatch.models import CampaignStatus, MessageStatus
from dispatch.reports import places, survey
from dispatch.reports import scope as scopes
from tests.helpers import plans
from tests.helpers.reports import T0, Ledger, campaign
from tests.helpers.surveys import EXPECTED, FREE_TEXTS, QUESTION, reply, survey_campaign


@pytest.fixture(autouse=True)
def _request(app: Any) -> Any:
    with app.test_request_context():  # names of places come from the catalog
        yield


def test_a_survey_counts_the_last_answer_of_each_number_by_choice_place_operator_and_hour(
        app: Any, people: dict[str, Any], backend: str) -> None:
    c = survey_campaign(people)
    r = survey.results(c)
    assert r is not None
    assert r["question"] == QUESTION and r["mode"] == "survey"
    assert {ch["key"]: ch["answers"] for ch in r["choices"]} == EXPECTED["choices"]
    assert [ch["label"] for ch in r["choices"]] == ["Đồng ý", "Không đồng ý", "Ý kiến khác"]
    assert [ch["percent"] for ch in r["choices"]] == [50.0, 37.5, 12.5]
    assert r["answers"] == EXPECTED["answers"]
    assert r["reached"] == EXPECTED["reached"]
    assert r["response_rate_percent"] == EXPECTED["rate"]
    assert {k: (v["answers"], v["reached"], v["rate_percent"])
            for k, v in r["by_channel"].items()} == EXPECTED["by_channel"]
    unknown = places.unknown()
    assert {row["name"]: (row["answers"], row["by_choice"], row["reached"], row["rate_percent"])
            for row in r["by_locality"]} == {
        (unknown if k is None else k): v for k, v in EXPECTED["by_locality"].items()}
    assert r["by_locality"][-1]["name"] == unknown  # the unknown place comes last
    assert {op: (v["answers"], v["by_choice"], v["reached"], v["rate_percent"])
            for op, v in r["by_operator"].items()} == EXPECTED["by_operator"]
    assert r["not_counted"] == EXPECTED["not_counted"]
    assert r["free_replies"] == EXPECTED["free_replies"]
    timeline = r["timeline"]
    assert timeline["bucket_seconds"] == 3600
    assert [(b["start"].strftime("%H:%M"), b["replies"], b["answers"])
            for b in timeline["buckets"]] == EXPECTED["hours"]
    assert timeline["buckets"][0]["start"].utcoffset() == timedelta(hours=7)
    listed = db.session.scalars(survey.free_replies(c)).all()
    assert [x.text for x in listed] == list(reversed(FREE_TEXTS))  # newest first


def test_answers_over_many_days_are_counted_by_local_day(
        app: Any, people: dict[str, Any], backend: str) -> None:
    c = campaign(people, "Khảo sát dài ngày", status=CampaignStatus.COMPLETED, launched=T0,
                 reply_mode="survey", reply_days=10,
                 survey={"question": "?", "choices": [{"key": "1", "label": "Có"}]})
    # 23:30 UTC on 10/03 is 06:30 local on 11/03: a UTC day would put it on the 10th.
    first = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
    for minutes in (0, 5 * 24 * 60):
        reply(c, "answer", choice="1", counted=True, minutes=(first - T0).total_seconds() / 60
              + minutes)
    db.session.commit()
    r = survey.results(c)
    assert r is not None
    assert r["timeline"]["bucket_seconds"] == 86400
    assert [(b["start"].strftime("%d/%m %H:%M"), b["answers"])
            for b in r["timeline"]["buckets"]] == [
        ("11/03 00:00", 1), ("12/03 00:00", 0), ("13/03 00:00", 0), ("14/03 00:00", 0),
        ("15/03 00:00", 0), ("16/03 00:00", 1)]


def test_a_free_reply_campaign_counts_its_respondents(app: Any, people: dict[str, Any]) -> None:
    c = campaign(people, "Góp ý tự do", status=CampaignStatus.COMPLETED, launched=T0,
                 channels="sms", reply_mode="free")
    Ledger(c).sms("viettel", MessageStatus.DELIVERED, submitted=1, finished=2, count=4)
    reply(c, "free", text="Góp ý thứ nhất", counted=True, minutes=5, operator="viettel")
    reply(c, "free", text="Góp ý sau", counted=True, minutes=6, operator="viettel")
    reply(c, "free", text="Góp ý cũ của cùng số", minutes=4, operator="viettel")
    reply(c, "opt_out", text="TC", minutes=7)
    db.session.commit()
    r = survey.results(c)
    assert r is not None
    assert (r["mode"], r["question"], r["choices"]) == ("free", None, [])
    assert (r["answers"], r["free_replies"], r["response_rate_percent"]) == (2, 3, 50.0)
    assert r["not_counted"] == {"replaced": 1, "over_limit": 0, "opted_out": 1}
    assert r["by_operator"]["viettel"] == {"answers": 2, "reached": 4, "rate_percent": 50.0}


def test_a_campaign_that_asked_nothing_has_no_results(app: Any, people: dict[str, Any]) -> None:
    c = campaign(people, "Thông báo", status=CampaignStatus.COMPLETED, launched=T0)
    reply(c, "free", text="Cảm ơn", counted=True, minutes=1)  # stray: still no survey
    db.session.commit()
    assert survey.results(c) is None
    assert scopes.figures(scopes.for_campaign(c))["surveys"] == []


def test_the_phase_summary_has_the_surveys_of_its_campaigns(
        app: Any, people: dict[str, Any], backend: str) -> None:
    c = survey_campaign(people, tag="truoc-dai-hoi")
    other = campaign(people, "Thông báo cùng đợt", status=CampaignStatus.COMPLETED,
                     launched=T0, tag="truoc-dai-hoi")
    db.session.commit()
    phase = plans.congress().phases[0]
    fig = scopes.figures(scopes.for_phase(phase))
    assert {item["campaign"].id for item in fig["campaigns"]} == {c.id, other.id}
    [found] = fig["surveys"]
    assert found["campaign_id"] == c.id
    assert {ch["key"]: ch["answers"] for ch in found["choices"]} == EXPECTED["choices"]
    assert found["response_rate_percent"] == EXPECTED["rate"]
    assert found["not_counted"] == EXPECTED["not_counted"]
    assert "by_locality" not in found  # the detail is the campaign's own report
    # The same figures as the campaign's own report, from the same arithmetic.
    own = scopes.figures(scopes.for_campaign(c))["surveys"][0]
    assert {k: own[k] for k in found} == found
