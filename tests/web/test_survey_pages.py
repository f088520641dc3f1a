"""The survey results on the report pages: a campaign's in detail, a phase's per survey.

The survey is tests/helpers/surveys.py's; the figures on the page are the hand-counted ones.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from dispatch.extensions import db
from dispatch.models import CampaignStatus, MessageStatus
from dispatch.reports import places
from tests.helpers import plans
from tests.helpers.report_pages import cells, vi
from tests.helpers.reports import T0, Ledger, campaign
from tests.helpers.surveys import (
    CHOICES,
    EXPECTED,
    FREE_TEXTS,
    QUESTION,
    reply,
    survey_campaign,
)


def pct(value: float) -> str:
    return (f"{value:.1f}".removesuffix(".0")).replace(".", ",") + " %"


def test_the_campaign_report_shows_its_survey_results(app: Any, people: dict[str, Any],
                                                      as_role: Any) -> None:
    c = survey_campaign(people)
    page = as_role("editor").get(f"/campaigns/{c.id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kết quả khảo sát" in html and QUESTION in html
    assert f'id="chart-survey-{c.id}-t"' in html  # the chart, with its title
    for choice in CHOICES:
        row = cells(html, "survey-choices", choice["key"])
        n = EXPECTED["choices"][choice["key"]]
        assert row == [f"{choice['key']} {choice['label']}", vi(n),
                       pct(100 * n / EXPECTED["answers"])]
    assert cells(html, "survey-choices", "total")[1] == vi(EXPECTED["answers"])
    for channel, (answers, reached, rate) in EXPECTED["by_channel"].items():
        assert cells(html, "survey-channels", channel)[1:] == [vi(answers), vi(reached),
                                                               pct(rate)]
    assert cells(html, "survey-channels", "total")[1:] == [
        vi(EXPECTED["answers"]), vi(EXPECTED["reached"]["total"]), pct(EXPECTED["rate"])]
    for key, n in EXPECTED["not_counted"].items():
        assert cells(html, "survey-not-counted", key)[1] == vi(n)
    with app.test_request_context():
        unknown = places.unknown()
    for name, (answers, by_choice, reached, rate) in EXPECTED["by_locality"].items():
        name = name or unknown
        assert cells(html, "survey-localities", name) == [
            name, vi(answers), *(vi(by_choice[ch["key"]]) for ch in CHOICES), vi(reached),
            pct(rate)]
    for op, (answers, by_choice, reached, rate) in EXPECTED["by_operator"].items():
        assert cells(html, "survey-operators", op)[1:] == [
            vi(answers), *(vi(by_choice[ch["key"]]) for ch in CHOICES), vi(reached), pct(rate)]
    assert cells(html, "survey-operators", "viettel")[0] == "Viettel"
    for hour, replies, answers in EXPECTED["hours"]:
        assert cells(html, "survey-timeline", f"2025-03-10 {hour}")[1:] == [vi(replies),
                                                                            vi(answers)]
    for text in FREE_TEXTS:
        assert text in html
    assert html.count("data-free-reply") == EXPECTED["free_replies"]
    assert f'href="/inbox?campaign={c.id}"' in html
    assert "+8491" not in html  # the report holds no number

    one = as_role("editor").get(f"/campaigns/{c.id}/report?per_page=1&page=2")
    assert one.status_code == 200
    later = one.get_data(as_text=True)
    assert FREE_TEXTS[0] in later and FREE_TEXTS[1] not in later  # newest first: page 2


def test_a_campaign_that_asked_nothing_shows_no_survey(app: Any, people: dict[str, Any],
                                                       as_role: Any) -> None:
    c = campaign(people, "Thông báo", status=CampaignStatus.COMPLETED, launched=T0)
    db.session.commit()
    html = as_role("editor").get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert "data-survey" not in html and "Kết quả khảo sát" not in html


def test_the_phase_report_shows_the_surveys_of_its_campaigns(app: Any, people: dict[str, Any],
                                                             as_role: Any) -> None:
    c = survey_campaign(people, tag="truoc-dai-hoi")
    plan = plans.congress()
    phase = plan.phases[0]
    html = as_role("approver").get(
        f"/plans/{plan.id}/phases/{phase.id}/report").get_data(as_text=True)
    assert "Kết quả khảo sát" in html and QUESTION in html
    assert f'href="/campaigns/{c.id}/report"' in html
    for choice in CHOICES:
        assert cells(html, f"survey-choices-{c.id}", choice["key"])[1] == vi(
            EXPECTED["choices"][choice["key"]])
    assert cells(html, f"survey-channels-{c.id}", "total")[3] == pct(EXPECTED["rate"])
    assert "survey-localities" not in html  # the detail is on the campaign's own report


def test_the_readable_export_opens_with_the_survey(app: Any, people: dict[str, Any],
                                                   as_role: Any) -> None:
    c = survey_campaign(people)
    r = as_role("admin").get(f"/campaigns/{c.id}/export.xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data), read_only=True)
    lines = [[v for v in row if v is not None] for row in book.worksheets[0].iter_rows(
        values_only=True)]
    start = lines.index(["Kết quả khảo sát"])
    section = lines[start:]
    assert ["Câu hỏi", QUESTION] in section
    assert ["1. Đồng ý", 4, 50] in section
    assert ["Tỷ lệ trả lời (%)", EXPECTED["rate"]] in section
    assert ["Viettel", 4, 3, 1, 0, 6, 66.7] in section


def test_a_free_reply_campaign_shows_its_replies(app: Any, people: dict[str, Any],
                                                 as_role: Any) -> None:
    c = campaign(people, "Góp ý dự thảo", status=CampaignStatus.COMPLETED, launched=T0,
                 channels="sms", reply_mode="free", tag="trong-dai-hoi")
    Ledger(c).sms("viettel", MessageStatus.DELIVERED, submitted=1, finished=2, count=4)
    reply(c, "free", text="Góp ý về công tác cán bộ", counted=True, minutes=5,
          operator="viettel")
    reply(c, "free", text="Góp ý cũ", minutes=4, operator="viettel")
    db.session.commit()
    html = as_role("editor").get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert "Chiến dịch đề nghị người nhận trả lời tự do." in html
    assert "Số người trả lời" in html and "survey-choices" not in html
    assert cells(html, "survey-channels", "sms")[1:] == ["1", "4", "25 %"]
    assert cells(html, "survey-not-counted", "replaced")[1] == "1"
    assert html.count("data-free-reply") == 2
    plan = plans.congress()
    period = as_role("editor").get(
        f"/plans/{plan.id}/phases/{plan.phases[1].id}/report").get_data(as_text=True)
    assert cells(period, f"survey-channels-{c.id}", "total")[1:] == ["1", "4", "25 %"]
