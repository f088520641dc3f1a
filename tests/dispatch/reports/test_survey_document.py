"""The survey results in the report document (the job's DOCX, read back with python-docx) and in
the JSON API (the campaign's report, the summary): the same hand-counted figures as the page."""

from __future__ import annotations

from typing import Any

import docx

from dispatch.extensions import db
from dispatch.models import CampaignStatus
from dispatch.reports import document
from dispatch.reports import scope as scopes
from tests.helpers import plans
from tests.helpers.reports import T0, campaign
from tests.helpers.surveys import CHOICES, EXPECTED, FREE_TEXTS, QUESTION, survey_campaign


def written(scope: scopes.ReportScope) -> Any:
    name = document.make_document(list(scope.args))  # the job itself, in this process
    path = document.path_of(scope.key, name)
    assert path is not None
    return docx.Document(str(path))


def table(doc: Any, first_header: str, nth: int = 0) -> list[list[str]]:
    found = [[[cell.text.strip() for cell in row.cells] for row in t.rows] for t in doc.tables
             if t.rows and t.rows[0].cells[0].text.strip() == first_header]
    assert len(found) > nth, first_header
    return found[nth]


def n(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def test_the_campaign_document_holds_the_survey_results(app: Any,
                                                        people: dict[str, Any]) -> None:
    c = survey_campaign(people)
    doc = written(scopes.for_campaign(c))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Kết quả khảo sát, lấy ý kiến" in text and QUESTION in text
    assert f"tỷ lệ trả lời: {n(EXPECTED['rate'])} %" in text
    choices = table(doc, "Phương án")
    assert choices[1:] == [
        [f"{ch['key']}. {ch['label']}", str(EXPECTED["choices"][ch["key"]]),
         n(100 * EXPECTED["choices"][ch["key"]] / EXPECTED["answers"])] for ch in CHOICES
    ] + [["Tổng cộng", str(EXPECTED["answers"]), ""]]
    channels = {row[0]: row[1:] for row in table(doc, "Kênh", 1)[1:]}
    assert channels["Tin nhắn SMS"] == ["6", "9", n(66.7)]
    assert channels["Trên ứng dụng"] == ["2", "4", n(50.0)]
    assert channels["Tổng cộng"] == ["8", "13", n(EXPECTED["rate"])]
    places = {row[0]: row[1:] for row in table(doc, "Địa bàn", 1)[1:]}
    answers, by_choice, reached, rate = EXPECTED["by_locality"]["Thành phố Vị Thanh"]
    assert places["Thành phố Vị Thanh"] == [str(answers), *(str(by_choice[k]) for k in "123"),
                                            str(reached), n(rate)]
    operators = {row[0]: row[1:] for row in table(doc, "Nhà mạng", 2)[1:]}
    assert operators["VinaPhone"] == ["2", "1", "0", "1", "3", n(66.7)]
    for free in FREE_TEXTS:
        assert free in text


def test_the_phase_document_and_a_plain_campaign(app: Any, people: dict[str, Any]) -> None:
    c = survey_campaign(people, tag="truoc-dai-hoi")
    doc = written(scopes.for_phase(plans.congress().phases[0]))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"- Chiến dịch: {c.title}" in text and QUESTION in text
    assert [row[1] for row in table(doc, "Phương án")[1:]] == ["4", "3", "1", "8"]

    plain = campaign(people, "Thông báo", status=CampaignStatus.COMPLETED, launched=T0)
    db.session.commit()
    text = "\n".join(p.text for p in written(scopes.for_campaign(plain)).paragraphs)
    assert "khảo sát" not in text


def test_the_api_gives_the_survey_as_codes_and_numbers(app: Any, people: dict[str, Any],
                                                       api: Any) -> None:
    c = survey_campaign(people)
    r = api.as_(people["editor"]).get(f"/api/campaigns/{c.id}/report")
    assert r.status_code == 200, r.json
    s = r.json["survey"]
    assert s["mode"] == "survey" and s["question"] == QUESTION
    assert {ch["key"]: ch["answers"] for ch in s["choices"]} == EXPECTED["choices"]
    assert s["reached"] == EXPECTED["reached"]
    assert s["response_rate_percent"] == EXPECTED["rate"]
    assert s["not_counted"] == EXPECTED["not_counted"]
    assert s["by_operator"]["viettel"] == {"answers": 4, "by_choice": {"1": 3, "2": 1, "3": 0},
                                           "reached": 6, "rate_percent": 66.7}
    assert [(b["start"][11:16], b["replies"], b["answers"])
            for b in s["timeline"]["buckets"]] == EXPECTED["hours"]
    assert s["timeline"]["buckets"][0]["start"].endswith("+07:00")
    plain = campaign(people, "Thông báo", status=CampaignStatus.COMPLETED, launched=T0)
    db.session.commit()
    assert api.as_(people["editor"]).get(f"/api/campaigns/{plain.id}/report").json[
        "survey"] is None

    summary = api.as_(people["editor"]).get(
        f"/api/reports/summary?phase_id={plans.congress().phases[0].id}").json
    [row] = [item for item in summary["campaigns"] if item["id"] == c.id]
    assert (row["survey_answers"], row["survey_response_rate_percent"]) == (8, EXPECTED["rate"])

