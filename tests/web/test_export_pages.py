"""The campaign page's exports, as a clerk opens them in Excel: Vietnamese words, local times,
numbers as people write them, E.164 in its own column, the XLSX's summary sheet first."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import openpyxl
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Message
from tests.dispatch.reports.conftest import main_campaign  # noqa: F401 (the fixture)
from tests.helpers.reports import FORMULA_NAME, NAME, Ledger

HEADER = ["Mã tin", "Kênh", "Số điện thoại", "Số điện thoại quốc tế (E.164)",
          "Mã cài đặt ứng dụng", "Họ tên", "Nhà mạng", "Tài khoản SMPP", "Trạng thái", "Lý do",
          "Mã lỗi", "Số phần tin", "Số lần gửi", "Mã tin tại cổng SMSC / FCM",
          "Vào hàng đợi (giờ VN)", "Gửi đi (giờ VN)", "Kết thúc (giờ VN)"]


def _by_id(rows: list[Any]) -> dict[int, dict[str, Any]]:
    return {int(r[0]): dict(zip(HEADER, r, strict=True)) for r in rows}


def _number(ledger: Ledger, label: str) -> str:
    return db.session.get(Message, ledger.ids[label]).address or ""


def test_the_page_links_the_readable_exports(as_role: Any, main_campaign: Ledger) -> None:  # noqa: F811
    html = as_role("approver").get(f"/campaigns/{main_campaign.campaign.id}").get_data(
        as_text=True)
    cid = main_campaign.campaign.id
    assert f'href="/campaigns/{cid}/export.csv"' in html
    assert f'href="/campaigns/{cid}/export.xlsx"' in html


def test_csv_in_vietnamese_for_excel(backend: str, as_role: Any,
                                     main_campaign: Ledger) -> None:  # noqa: F811
    cid = main_campaign.campaign.id
    r = as_role("approver").get(f"/campaigns/{cid}/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the diacritics
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER and len(rows) == 26
    by_id = _by_id(rows[1:])
    named = by_id[main_campaign.ids["named"]]
    e164 = _number(main_campaign, "named")
    assert e164.startswith("+849")
    national = "0" + e164[3:]
    assert named["Số điện thoại"] == f"{national[:4]} {national[4:7]} {national[7:]}"
    assert named["Số điện thoại quốc tế (E.164)"] == e164
    assert (named["Kênh"], named["Nhà mạng"], named["Trạng thái"], named["Họ tên"]) == (
        "SMS", "Viettel", "Đã nhận", NAME)
    # 01:00 UTC is 08:00 in Asia/Ho_Chi_Minh, written the Vietnamese way.
    assert named["Gửi đi (giờ VN)"] == "10/03/2025 08:00"
    assert named["Vào hàng đợi (giờ VN)"] == "10/03/2025 07:55"
    refused = by_id[main_campaign.ids["refused"]]
    assert (refused["Trạng thái"], refused["Lý do"], refused["Mã lỗi"]) == (
        "Thất bại", "Nhà mạng từ chối số nhận (số không hợp lệ)", "0x0000000B")
    assert by_id[main_campaign.ids["partial"]]["Họ tên"] == "'" + FORMULA_NAME
    statuses = {r["Trạng thái"] for r in by_id.values()}
    assert statuses <= {"Đã nhận", "Nhận một phần", "Thất bại", "Chưa rõ", "Hết hạn",
                        "Không gửi", "Đã gửi"}, statuses
    reasons = {r["Lý do"] for r in by_id.values()} - {""}
    assert not any("_" in reason for reason in reasons), reasons  # no code left bare
    push = [r for r in by_id.values() if r["Kênh"] == "Thông báo ứng dụng"]
    assert len(push) == 6
    assert all(r["Mã cài đặt ứng dụng"].startswith("inst-") and r["Số điện thoại"] == ""
               for r in push)
    assert b"SECRET-TOKEN" not in raw
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "report.export")).one()
    assert event.details == {"export": "ledger", "format": "csv", "form": "readable"}


def test_xlsx_opens_on_the_summary_sheet(backend: str, as_role: Any,
                                         main_campaign: Ledger) -> None:  # noqa: F811
    cid = main_campaign.campaign.id
    r = as_role("admin").get(f"/campaigns/{cid}/export.xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.get_data()))
    assert book.sheetnames == ["Tổng hợp", "Người nhận"]
    summary = {row[0]: row[1:] for row in book["Tổng hợp"].iter_rows(values_only=True)
               if row and row[0]}
    assert summary["Chiến dịch"][0] == main_campaign.campaign.title
    assert summary["Trạng thái"][0] == "Hoàn thành"
    assert summary["Người nhận"][0] == 25
    assert summary["Thất bại"][0] == 3
    assert summary["Viettel"][:1] == (13,)
    assert "Nhà mạng từ chối số nhận (số không hợp lệ)" in summary  # failures by reason
    sheet = book["Người nhận"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == 26
    named = _by_id(rows[1:])[main_campaign.ids["named"]]
    assert named["Trạng thái"] == "Đã nhận" and named["Nhà mạng"] == "Viettel"
    assert named["Gửi đi (giờ VN)"] == datetime(2025, 3, 10, 8, 0)
    assert named["Số điện thoại quốc tế (E.164)"] == _number(main_campaign, "named")
    assert named["Số điện thoại"].count(" ") == 2
    header_cells = [c.value for c in sheet[1]]
    at = header_cells.index("Gửi đi (giờ VN)") + 1
    named_row = next(i for i, row in enumerate(rows, start=1)
                     if row[0] == main_campaign.ids["named"])
    assert sheet.cell(named_row, at).number_format == "dd/mm/yyyy hh:mm"


def test_an_editor_may_not_export(as_role: Any, main_campaign: Ledger) -> None:  # noqa: F811
    r = as_role("editor").get(f"/campaigns/{main_campaign.campaign.id}/export.xlsx")
    assert r.status_code == 403


def test_the_api_keeps_its_codes(api: Any, people: Any, main_campaign: Ledger) -> None:  # noqa: F811
    r = api.as_(people["approver"]).get(f"/api/campaigns/{main_campaign.campaign.id}/export.csv")
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"), newline="")))
    assert rows[0][6] == "Trạng thái (status)"
    assert {row[6] for row in rows[1:]} >= {"delivered", "failed"}


def test_a_code_without_words_is_named_in_a_sentence(app: Any) -> None:
    from dispatch.web.labels import reason, words_for_exports

    with app.test_request_context("/"):
        words = words_for_exports()
        for code, said in (("ESME_RINVNUMDESTS", "Nhà mạng từ chối (ESME_RINVNUMDESTS)"),
                           ("fcm_quota", "FCM từ chối (fcm_quota)"),
                           ("xyz", "Lý do khác (xyz)"),
                           ("opt_out", "Người nhận đã từ chối nhận tin")):
            assert words.reason(code) == said == reason(code)
        assert words.reason(None) is None and reason(None) == "—"
