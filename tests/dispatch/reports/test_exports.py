"""The per-recipient ledger as CSV and XLSX: BOM, headers, Vietnamese, local times, no secrets."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent
from dispatch.reports import export
from tests.helpers.reports import FORMULA_NAME, NAME, Ledger

HEADER = [
    "Mã tin (message_id)", "Kênh (channel)",
    "Người nhận: số điện thoại hoặc mã cài đặt ứng dụng (recipient)", "Họ tên (name)",
    "Nhà mạng (operator)", "Tài khoản SMPP (account)", "Trạng thái (status)", "Lý do (reason)",
    "Mã lỗi (error_code)", "Số phần tin (parts)", "Số lần gửi (attempts)",
    "Mã tin tại cổng SMSC / FCM (gateway_ids)", "Vào hàng đợi, giờ VN (queued_at)",
    "Gửi đi, giờ VN (submitted_at)", "Kết thúc, giờ VN (finished_at)",
]


def csv_rows(api, people, ledger: Ledger, query: str = "", who: str = "approver"):
    r = api.as_(people[who]).get(f"/api/campaigns/{ledger.campaign.id}/export.csv{query}")
    assert r.status_code == 200, r.data[:300]
    assert r.is_streamed
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_has_bom_header_and_one_row_per_message(api, people, main_campaign, backend):
    raw, rows = csv_rows(api, people, main_campaign)
    assert rows[0] == HEADER
    assert len(rows) == 1 + 25
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    by_id = {int(r[0]): dict(zip([h.rsplit("(", 1)[1][:-1] for h in HEADER], r, strict=True))
             for r in rows[1:]}
    named = by_id[main_campaign.ids["named"]]
    assert named["name"] == NAME  # Vietnamese round-trips
    assert named["recipient"].startswith("+849") and named["channel"] == "sms"
    assert named["account"] == "viettel-1" and named["status"] == "delivered"
    assert named["submitted_at"] == "2025-03-10 08:00:00+07:00"
    assert named["finished_at"] == "2025-03-10 08:00:30+07:00"
    assert named["queued_at"] == "2025-03-10 07:55:00+07:00"
    assert by_id[main_campaign.ids["multipart"]]["gateway_ids"] == "A1 A2"
    assert by_id[main_campaign.ids["partial"]]["gateway_ids"] == "B1 B2 B3"
    assert by_id[main_campaign.ids["partial"]]["name"] == "'" + FORMULA_NAME
    refused = by_id[main_campaign.ids["refused"]]
    assert (refused["status"], refused["reason"], refused["error_code"], refused["gateway_ids"],
            refused["submitted_at"]) == ("failed", "ESME_RINVDSTADR", "0x0000000B", "", "")
    push = [r for r in by_id.values() if r["channel"] == "push"]
    assert len(push) == 6 and all(r["recipient"].startswith("inst-") for r in push)
    assert sum(r["gateway_ids"] == "projects/loa/messages/1" for r in push) == 3
    # No secret leaves: device tokens and the account's password stay in the database.
    assert b"SECRET-TOKEN" not in raw and b"ENCRYPTED-PASSWORD" not in raw


def test_csv_semicolon_for_excel_in_vietnamese(api, people, main_campaign):
    r = api.as_(people["admin"]).get(
        f"/api/campaigns/{main_campaign.campaign.id}/export.csv?delimiter=semicolon")
    first = r.get_data().decode("utf-8-sig").split("\r\n")[0]
    assert first.startswith("Mã tin (message_id);Kênh (channel);")


def test_export_is_audited(api, people, main_campaign):
    cid = main_campaign.campaign.id
    api.as_(people["approver"]).get(f"/api/campaigns/{cid}/export.csv").get_data()
    api.as_(people["admin"]).get(f"/api/campaigns/{cid}/export.xlsx").get_data()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.export")
                                .order_by(AuditEvent.id)).all()
    assert [(e.entity, e.entity_id, e.actor_id, e.details["format"]) for e in events] == [
        ("campaign", str(cid), people["approver"].id, "csv"),
        ("campaign", str(cid), people["admin"].id, "xlsx")]


def test_xlsx_opens_with_all_rows_and_local_times(api, people, main_campaign, backend):
    r = api.as_(people["approver"]).get(f"/api/campaigns/{main_campaign.campaign.id}/export.xlsx")
    assert r.status_code == 200
    assert r.mimetype == ("application/vnd.openxmlformats-officedocument"
                          ".spreadsheetml.sheet")
    raw = r.get_data()
    assert raw[:2] == b"PK" and b"SECRET-TOKEN" not in raw
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    assert len(book.worksheets) == 1
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == 26
    named = next(r for r in rows[1:] if r[0] == main_campaign.ids["named"])
    assert named[3] == NAME
    assert named[13] == datetime(2025, 3, 10, 8, 0, 0)  # local wall time; Excel has no zones
    partial = next(r for r in rows[1:] if r[0] == main_campaign.ids["partial"])
    assert partial[3] == "'" + FORMULA_NAME and partial[11] == "B1 B2 B3"


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(app, main_campaign, monkeypatch):
    monkeypatch.setattr(export, "SHEET_ROWS", 10)
    handle = export.xlsx_file(export.ledger_table(db.engine, main_campaign.campaign.id,
                                                  batch=7), "Ledger")
    book = openpyxl.load_workbook(handle, read_only=True)
    sizes = [len(list(ws.iter_rows(values_only=True))) for ws in book.worksheets]
    assert book.sheetnames == ["Ledger", "Ledger (2)", "Ledger (3)"]
    assert sizes == [11, 11, 6]  # each sheet has the header


def test_small_batches_give_the_same_rows(app, main_campaign, backend):
    whole = list(export.ledger_rows(db.engine, main_campaign.campaign.id))
    small = list(export.ledger_rows(db.engine, main_campaign.campaign.id, batch=3))
    assert whole == small and len(whole) == 25


def test_safe_text():
    assert export.safe_text("+84912345678") == "+84912345678"
    assert export.safe_text("=1+1") == "'=1+1"
    assert export.safe_text("-x") == "'-x"
    assert export.safe_text("Nguyễn") == "Nguyễn"
