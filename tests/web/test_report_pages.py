"""The report pages: a campaign's and a period's figures equal the ledger; dates and access.

The campaign is tests/helpers/reports.py's finished one (every outcome: delivered, partial,
refused at submit, undelivered, unknown, expired, awaiting a receipt, opted out, capped, no
route, push accepted and dead); the expected figures are counted from the ledger itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    CampaignStatus,
    Message,
    MessageStatus,
)
from tests.helpers import report_pages
from tests.helpers.report_pages import cells, count, parts, vi
from tests.helpers.reports import T0, Ledger, campaign

S = MessageStatus


@pytest.fixture()
def finished(app: Any, people: dict[str, Any]) -> Campaign:
    return report_pages.finished_campaign(app, people)


def test_the_campaign_report_page_shows_the_ledger(finished: Campaign, as_role: Any) -> None:
    c = finished
    page = as_role("editor").get(f"/campaigns/{c.id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sms, push = Message.channel == "sms", Message.channel == "push"
    submitted = Message.status.not_in([S.SUPPRESSED, S.PENDING, S.QUEUED, S.CANCELLED]) & ~(
        (Message.status == S.EXPIRED) & Message.submitted_at.is_(None))
    ledger = {
        "approved": 26,
        "targeted": count(c.id),
        "suppressed": count(c.id, Message.status == S.SUPPRESSED),
        "opted_out": count(c.id, Message.status == S.SUPPRESSED, Message.reason == "opt_out"),
        "waiting": count(c.id, Message.status.in_([S.PENDING, S.QUEUED, S.SENDING])),
        "cancelled": count(c.id, Message.status == S.CANCELLED),
        "submitted": count(c.id, submitted),
        "delivered": count(c.id, Message.status == S.DELIVERED),
        "partial": count(c.id, Message.status == S.PARTIAL),
        "awaiting_receipt": count(c.id, sms, Message.status == S.SUBMITTED),
        "accepted_by_fcm": count(c.id, push, Message.status == S.SUBMITTED),
        "failed": count(c.id, Message.status == S.FAILED),
        "expired": count(c.id, Message.status == S.EXPIRED, Message.submitted_at.is_not(None)),
        "unknown": count(c.id, Message.status == S.UNKNOWN),
    }
    # The mix is what it claims to be (tests/helpers/reports.py), so nothing here is vacuous.
    assert ledger == {"approved": 26, "targeted": 25, "suppressed": 7, "opted_out": 3,
                      "waiting": 0, "cancelled": 0, "submitted": 17, "delivered": 7,
                      "partial": 1, "awaiting_receipt": 1, "accepted_by_fcm": 3, "failed": 3,
                      "expired": 1, "unknown": 1}
    for key, n in ledger.items():
        assert cells(html, "funnel", key)[1] == vi(n), key

    # Approved against actual.
    assert cells(html, "approved", "sms")[1:] == ["20", vi(count(c.id, sms))]
    assert cells(html, "approved", "push")[1:] == ["6", vi(count(c.id, push))]

    # By operator.
    for op in ("viettel", "vinaphone", "gmobile"):
        mine = Message.operator == op
        row = cells(html, "operators", op)
        assert row[1] == vi(count(c.id, mine)), op
        assert row[3] == vi(count(c.id, mine, Message.status == S.DELIVERED)), op
        assert row[4] == vi(count(c.id, mine, Message.status == S.FAILED)), op
    assert cells(html, "operators", "viettel")[0] == "Viettel"

    # Errors by reason, in words, each count the ledger's.
    for status, group, reason, words in (
            (S.FAILED, "failed", "ESME_RINVDSTADR", "từ chối số"),
            (S.FAILED, "failed", "UNDELIV", "không chuyển được"),
            (S.FAILED, "failed", "fcm_unregistered", "bị gỡ"),
            (S.UNKNOWN, "unknown", "no_receipt", "báo nhận"),
            (S.SUPPRESSED, "suppressed", "opt_out", "từ chối nhận"),
            (S.SUPPRESSED, "suppressed", "no_route", "tài khoản SMPP"),
            (S.SUPPRESSED, "suppressed", "recipient_cap", "giới hạn")):
        row = cells(html, "problems", f"{group}:{reason}")
        assert words in row[1], (reason, row)
        assert row[2] == vi(count(c.id, Message.status == status, Message.reason == reason))

    # Cost: parts of SMS that reached the gateway (not refused outright), at 800 ₫ a part.
    billed = parts(c.id, sms, submitted, ~((Message.status == S.FAILED)
                                          & Message.submitted_at.is_(None)))
    assert billed == 15
    assert cells(html, "cost", "total") == ["Tổng", "15", "", "12.000 ₫"]
    assert cells(html, "cost", "viettel")[1:] == ["12", "800 ₫", "9.600 ₫"]

    # By locality: the commune counts under its city; devices have no locality.
    assert "Thành phố Vị Thanh" in html and "Thành phố Ngã Bảy" in html
    assert "Phường I" not in html
    # Charts are SVG drawn here, titled, with no script.
    assert html.count('<svg class="chart"') == 4
    assert "<title id=\"chart-timeline-t\">" in html
    assert "cdn" not in html.lower()
    # The campaign page's Báo cáo button leads here, not to JSON.
    show = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert f'href="/campaigns/{c.id}/report" data-report="report"' in show


def test_a_period_of_two_campaigns(finished: Campaign, as_role: Any,
                                   people: dict[str, Any]) -> None:
    other = campaign(people, "Nhắc lịch bầu cử", status=CampaignStatus.COMPLETED,
                     launched=T0 + timedelta(days=2), channels="sms")
    second = Ledger(other)
    second.sms("mobifone", S.DELIVERED, submitted=172800, finished=172830, count=3)
    second.sms("mobifone", S.FAILED, reason="REJECTD", submitted=172800, finished=172900)
    outside = campaign(people, "Ngoài kỳ báo cáo", status=CampaignStatus.COMPLETED,
                       launched=T0 + timedelta(days=40), channels="sms")
    Ledger(outside).sms("viettel", S.DELIVERED, submitted=3456000, finished=3456010, count=5)
    db.session.commit()
    ids = [finished.id, other.id]

    html = as_role("approver").get("/reports?since=2025-03-01&until=31/03/2025").get_data(
        as_text=True)
    assert cells(html, "campaigns", str(finished.id))[3] == vi(count(finished.id))
    assert cells(html, "campaigns", str(other.id))[3:6] == ["4", "4", "3"]
    assert f'data-row="{outside.id}"' not in html
    assert cells(html, "funnel", "targeted")[1] == vi(count(ids)) == "29"
    assert cells(html, "funnel", "delivered")[1] == vi(
        count(ids, Message.status == S.DELIVERED)) == "10"
    assert cells(html, "funnel", "failed")[1] == vi(count(ids, Message.status == S.FAILED))
    assert cells(html, "operators", "mobifone")[1:4] == ["4", "4", "3"]
    assert cells(html, "problems", "failed:REJECTD")[2] == "1"
    assert cells(html, "cost", "total")[1] == "19"  # 15 parts, and the second's 4
    # An empty range is a page saying so, not an error.
    empty = as_role("approver").get("/reports?since=2024-01-01&until=2024-01-31")
    assert empty.status_code == 200 and "Không có chiến dịch nào" in empty.get_data(as_text=True)


@pytest.mark.parametrize(("since", "until", "field", "words"), [
    ("2025-03-31", "2025-03-01", "until", "trước ngày bắt đầu"),
    ("31/02/2025", "2025-03-01", "since", "dd/mm/yyyy"),
    ("hôm qua", "2025-03-01", "since", "dd/mm/yyyy"),
    ("2025-03-01", "", "until", "Hãy nhập ngày"),
    ("1890-01-01", "2025-03-01", "since", "2000"),
    ("2020-01-01", "2025-03-01", "until", "hai năm"),
    ("2025-03-01\x00", "2025-03-02", "", "NUL"),  # the app's refusal of a NUL, named
])
def test_bad_dates_are_refused_by_name(app: Any, as_role: Any, since: str, until: str,
                                       field: str, words: str) -> None:
    page = as_role("editor").get("/reports", query_string={"since": since, "until": until})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert words in html, html[-3000:]
    if field:
        assert f'id="{field}-error"' in html
    refused = as_role("editor").post("/reports/document", {"since": since, "until": until})
    assert refused.status_code == 422


def test_who_may_see_a_report(finished: Campaign, client: Any, as_role: Any,
                              people: dict[str, Any]) -> None:
    anonymous = client.get(f"/campaigns/{finished.id}/report")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get("/reports").status_code == 302
    for role in ("editor", "approver", "admin"):  # report.view: every staff member
        assert as_role(role).get(f"/campaigns/{finished.id}/report").status_code == 200
    assert as_role("editor").get("/campaigns/999999/report").status_code == 404
    draft = campaign(people, "Bản nháp chưa gửi", status=CampaignStatus.DRAFT, launched=None)
    db.session.commit()
    empty = as_role("editor").get(f"/campaigns/{draft.id}/report")
    assert empty.status_code == 200 and "Chưa gửi tin nào" in empty.get_data(as_text=True)
    # Document names are checked: nothing outside its folder is served.
    editor = as_role("editor")
    for path in (f"/reports/documents/campaign-{finished.id}/..%2F..%2Fsecrets.key",
                 "/reports/documents/..%2Fx/20250101-000000-000000.docx",
                 f"/reports/documents/campaign-{finished.id}/20250101-000000-000000.docx"):
        assert editor.get(path).status_code == 404, path
    # The API keeps its JSON codes.
    api = editor.get(f"/api/campaigns/{finished.id}/report")
    assert api.status_code == 200 and api.json["total"]["failed_by_reason"]["UNDELIV"] == 1


def test_a_plan_and_a_phase_report_their_own_campaigns(finished: Campaign, as_role: Any,
                                                       people: dict[str, Any]) -> None:
    """The plan's report holds every campaign of its phases; a phase's only its own; the plan
    page links to both."""
    after = campaign(people, "Tổng kết Đại hội", status=CampaignStatus.COMPLETED,
                     launched=T0 + timedelta(days=5), channels="sms", tag="sau-dai-hoi")
    Ledger(after).sms("mobifone", S.DELIVERED, submitted=432000, finished=432010, count=2)
    db.session.commit()
    plan_id, phase = finished.phase.plan_id, finished.phase
    clerk = as_role("editor")
    show = clerk.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert f'href="/plans/{plan_id}/report"' in show
    assert f'href="/plans/{plan_id}/phases/{phase.id}/report"' in show
    whole = clerk.get(f"/plans/{plan_id}/report").get_data(as_text=True)
    assert cells(whole, "campaigns", str(finished.id))[1] == phase.name
    assert cells(whole, "campaigns", str(after.id))[3:6] == ["2", "2", "2"]
    assert cells(whole, "funnel", "targeted")[1] == vi(count([finished.id, after.id]))
    one = clerk.get(f"/plans/{plan_id}/phases/{phase.id}/report").get_data(as_text=True)
    assert f'data-row="{after.id}"' not in one and phase.name in one
    assert cells(one, "funnel", "targeted")[1] == vi(count(finished.id))
    # A phase of another plan, or none, is a 404 page, not an error.
    assert clerk.get(f"/plans/{plan_id + 1}/phases/{phase.id}/report").status_code == 404
    assert clerk.get(f"/plans/{plan_id}/phases/99999/report").status_code == 404
