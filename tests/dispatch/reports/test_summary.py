"""The summary across campaigns: local-day range, phase tag, totals, CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from dispatch.extensions import db
from dispatch.models import CampaignStatus
from tests.helpers.plans import congress, phase_id
from tests.helpers.reports import Ledger, campaign

S_ = CampaignStatus


@pytest.fixture()
def several(main_campaign, people):
    """Main (started 10 March, 07:59 local), and three more launched campaigns and a draft."""
    from dispatch.models import MessageStatus as S

    # Launched 00:30 on 12 March local time, which is still 11 March in UTC.
    late = campaign(people, "Kết quả Đại hội", status=S_.COMPLETED, tag="trong-dai-hoi",
                    launched=datetime(2025, 3, 11, 17, 30, tzinfo=UTC), channels="sms")
    Ledger(late).sms("mobifone", S.DELIVERED, parts=2, submitted=0, finished=5, count=3)
    sending = campaign(people, "Sau Đại hội", status=S_.SENDING, tag="sau-dai-hoi",
                       launched=datetime(2025, 3, 12, 2, 0, tzinfo=UTC), channels="sms")
    ledger = Ledger(sending)
    ledger.sms("viettel", S.DELIVERED, submitted=0, finished=5)
    ledger.sms("viettel", S.QUEUED, count=2)
    ledger.sms("viettel", S.CANCELLED, reason="cancelled")
    # Launched on the 9th but scheduled for the 13th: it counts on the 13th.
    campaign(people, "Lịch gửi", status=S_.SCHEDULED, tag="sau-dai-hoi",
             launched=datetime(2025, 3, 9, 1, 0, tzinfo=UTC),
             send_at=datetime(2025, 3, 13, 1, 0, tzinfo=UTC))
    campaign(people, "Nháp", status=S_.DRAFT, launched=None, tag="trong-dai-hoi")
    db.session.commit()
    return {"main": main_campaign.campaign.id, "late": late.id, "sending": sending.id}


def get(api, people, query: str = "", who: str = "editor") -> dict:
    r = api.as_(people[who]).get(f"/api/reports/summary{query}")
    assert r.status_code == 200, r.json
    return r.json


def titles(body: dict) -> list[str]:
    return [c["title"] for c in body["campaigns"]]


def test_all_launched_campaigns_in_start_order_with_totals(api, people, several, backend):
    body = get(api, people)
    assert titles(body) == ["Thông báo Đại hội đại biểu Đảng bộ tỉnh", "Kết quả Đại hội",
                            "Sau Đại hội", "Lịch gửi"]
    main, late, sending, scheduled = body["campaigns"]
    assert (main["targeted"], main["submitted"], main["delivered"], main["cost_vnd"]) == (
        25, 17, 7, 12_000)  # the row the SMSC refused outright is not billed
    assert (late["delivered"], late["parts_billed"], late["cost_vnd"]) == (3, 6, 4_800)
    assert (sending["targeted"], sending["waiting"], sending["cancelled"],
            sending["delivered"]) == (4, 2, 1, 1)
    assert scheduled["targeted"] == 0
    assert scheduled["started_at"] == "2025-03-13T08:00:00+07:00"
    assert late["started_at"] == "2025-03-12T00:30:00+07:00"
    total = body["total"]
    assert total["campaigns"] == 4
    assert (total["targeted"], total["submitted"], total["delivered"], total["failed"],
            total["expired"], total["unknown"], total["parts_billed"], total["cost_vnd"]) == (
        25 + 3 + 4, 17 + 3 + 1, 7 + 3 + 1, 3, 1, 1, 15 + 6 + 1, 12_000 + 4_800 + 800)


def test_filters_by_local_day_and_tag(api, people, several, backend):
    assert titles(get(api, people, "?until=2025-03-11")) == [
        "Thông báo Đại hội đại biểu Đảng bộ tỉnh"]
    assert titles(get(api, people, "?since=2025-03-12&until=2025-03-12")) == [
        "Kết quả Đại hội", "Sau Đại hội"]
    during = phase_id("trong-dai-hoi")
    assert titles(get(api, people, f"?phase_id={during}")) == [
        "Thông báo Đại hội đại biểu Đảng bộ tỉnh", "Kết quả Đại hội"]
    body = get(api, people, f"?since=2025-03-11&phase_id={during}")
    assert titles(body) == ["Kết quả Đại hội"]
    assert body["phase"] == "Đợt 2: Trong thời gian diễn ra Đại hội"
    assert {c["phase"] for c in body["campaigns"]} == {"Đợt 2: Trong thời gian diễn ra Đại hội"}
    assert len(titles(get(api, people, f"?plan_id={congress().id}"))) == 4
    refused = api.as_(people["editor"]).get("/api/reports/summary?phase_tag=trong-dai-hoi")
    assert refused.status_code == 422 and "phase_tag" in refused.json["errors"]
    assert body["total"]["cost_vnd"] == 4_800 and body["since"] == "2025-03-11"
    empty = get(api, people, "?since=2030-01-01")
    assert empty["campaigns"] == [] and empty["total"]["targeted"] == 0


def test_bad_range_is_a_422(api, people, app):
    r = api.as_(people["editor"]).get("/api/reports/summary?since=2025-03-12&until=2025-03-11")
    assert r.status_code == 422 and "until" in r.json["errors"]
    r = api.as_(people["editor"]).get("/api/reports/summary?since=tomorrow")
    assert r.status_code == 422 and "since" in r.json["errors"]


def test_summary_csv_and_xlsx(api, people, several, backend):
    during = phase_id("trong-dai-hoi")
    r = api.as_(people["editor"]).get(f"/api/reports/summary.csv?phase_id={during}")
    assert r.status_code == 200 and r.get_data().startswith(b"\xef\xbb\xbf")
    assert f"loa-summary-phase-{during}-" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"), newline="")))
    assert rows[0][:2] == ["Mã chiến dịch (id)", "Tên chiến dịch (title)"]
    # The survey's columns come last, after the cost (empty: these campaigns asked nothing).
    assert rows[0][-3:] == ["Chi phí ước tính (VND) (cost_vnd)",
                            "Số trả lời khảo sát được tính (survey_answers)",
                            "Tỷ lệ trả lời khảo sát (%) (survey_response_rate_percent)"]
    assert [r[1] for r in rows[1:]] == ["Thông báo Đại hội đại biểu Đảng bộ tỉnh",
                                        "Kết quả Đại hội", "Tổng cộng (2 chiến dịch)"]
    assert rows[-1][-3:] == [str(12_000 + 4_800), "", ""]
    assert rows[1][5] == "2025-03-10 07:59:00+07:00"

    r = api.as_(people["editor"]).get("/api/reports/summary.xlsx?since=2025-03-10")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.get_data()), read_only=True)
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(sheet) == 1 + 4 + 1 and sheet[-1][1] == "Tổng cộng (4 chiến dịch)"
    assert sheet[1][5] == datetime(2025, 3, 10, 7, 59)
