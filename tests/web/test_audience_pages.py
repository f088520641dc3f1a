"""Lists and imports with their row report, contacts, opt-outs and devices, through the pages."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rq import SimpleWorker
from sqlalchemy import func, select

from dispatch import jobs
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import AuditEvent, ContactList, ListMember, OptOut
from tests.helpers.files import windows_1258


def _work() -> None:
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)


def test_create_list_and_import_a_file_with_bad_rows(backend: str, as_role: Any,
                                                     data_dir: Path) -> None:
    editor = as_role("editor")
    created = editor.post("/audiences/lists", {"name": "Đoàn viên", "description": "Xã A"})
    lst = db.session.scalars(select(ContactList)).one()
    assert created.headers["Location"] == f"/audiences/lists/{lst.id}"
    with open(data_dir / "contacts_bad_rows.csv", "rb") as fh:
        response = editor.post(f"/audiences/lists/{lst.id}/import",
                               {"file": (fh, "danh-sach.csv")},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    page = response.headers["Location"]
    waiting = editor.get(page).get_data(as_text=True)
    # Queued for a worker: the page refreshes itself and offers to cancel.
    assert 'http-equiv="refresh"' in waiting and 'id="cancel-import"' in waiting
    _work()
    report = editor.get(page)
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and 'id="import-errors"' in html
    assert 'http-equiv="refresh"' not in html and 'id="cancel-import"' not in html
    assert "số không hợp lệ" in html  # a row reason, translated
    assert "Huyện Không Có" in html  # the bad value, quoted
    listing = editor.get(f"/audiences/lists/{lst.id}").get_data(as_text=True)
    assert "0912 345 678" in listing and "danh-sach.csv" in listing
    # The refused rows, in the file's own columns plus "lý do", to fix and upload again.
    assert 'id="refused-download"' in html
    refused = editor.get(f"{page}/refused.csv")
    assert refused.status_code == 200 and refused.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(refused.get_data().decode("utf-8-sig"))))
    original = (data_dir / "contacts_bad_rows.csv").read_text(encoding="utf-8-sig")
    assert rows[0] == [*next(csv.reader(io.StringIO(original))), "lý do"]
    assert len(rows) == 1 + 8  # every refused row, none of the imported ones (nor warned)
    assert rows[1][0] == "0912 34" and rows[1][-1] == "số không hợp lệ"


def test_an_import_can_be_cancelled_from_its_page(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    editor.post("/audiences/lists", {"name": "Hủy"})
    lst = db.session.scalars(select(ContactList)).one()
    sent = editor.post(f"/audiences/lists/{lst.id}/import",
                       {"file": (io.BytesIO(b"phone\n0912345678\n"), "a.csv")},
                       content_type="multipart/form-data")
    page = sent.headers["Location"]
    assert editor.post(f"{page}/cancel", {}).status_code == 302
    _work()  # the job finds its import cancelled and does nothing
    html = editor.get(page).get_data(as_text=True)
    assert 'class="badge cancelled"' in html and 'id="cancel-import"' not in html
    assert db.session.scalar(select(func.count()).select_from(ListMember)) == 0
    assert editor.post(f"{page}/cancel", {}).status_code == 409


def test_a_windows_1258_file_shows_its_encoding_errors_and_warnings(backend: str,
                                                                    as_role: Any) -> None:
    editor = as_role("editor")
    editor.post("/audiences/lists", {"name": "Hội viên"})
    lst = db.session.scalars(select(ContactList)).one()
    data = windows_1258("Danh sách hội viên;;\r\nSĐT;Họ và tên;Huyện\r\n"
                        "0912345678;Nguyễn Văn Ấn;H. Phụng Hiệp\r\n"
                        "0912abc345;Trần Thị Bình;Vị Thủy\r\n"
                        "0987654321;Lê Văn Cường;Huyện Không Có\r\n")
    response = editor.post(f"/audiences/lists/{lst.id}/import",
                           {"file": (io.BytesIO(data), "hoi-vien.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    _work()
    html = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã đọc tệp theo bảng mã Windows-1258." in html
    errors = html[html.index('id="import-errors"'):html.index('id="import-warnings"')]
    assert "0912abc345" in errors and "số điện thoại có chữ" in errors
    warnings = html[html.index('id="import-warnings"'):]
    assert "Huyện Không Có" in warnings and "địa bàn không rõ" not in warnings
    assert "nằm trên dòng tiêu đề" in warnings and "Danh sách hội viên" in warnings
    assert '<b id="warning-rows">2</b>' in html and '<b id="error-rows">1</b>' in html
    listing = editor.get(f"/audiences/lists/{lst.id}").get_data(as_text=True)
    assert "Nguyễn Văn Ấn" in listing and "Lê Văn Cường" in listing


def test_upload_without_a_file(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    editor.post("/audiences/lists", {"name": "Trống"})
    lst = db.session.scalars(select(ContactList)).one()
    response = editor.post(f"/audiences/lists/{lst.id}/import", {},
                           content_type="multipart/form-data")
    assert response.headers["Location"] == f"/audiences/lists/{lst.id}"


def test_approvers_read_audiences_but_do_not_change_them(backend: str, as_role: Any) -> None:
    approver = as_role("approver")
    page = approver.get("/audiences/lists").get_data(as_text=True)
    assert "Danh sách mới" not in page
    assert approver.post("/audiences/lists", {"name": "x"}).status_code == 403
    assert approver.post("/audiences/optouts", {"channel": "sms", "address": "0912345678",
                                                "reason": "x"}).status_code == 403


def test_opt_out_add_and_lift_with_reasons(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    no_reason = editor.post("/audiences/optouts", {"channel": "sms", "address": "0912 345 678"})
    assert no_reason.status_code == 422
    added = editor.post("/audiences/optouts", {"channel": "sms", "address": "0912 345 678",
                                               "reason": "Gọi điện đề nghị"})
    assert added.status_code == 302
    opt_out = db.session.scalars(select(OptOut)).one()
    assert opt_out.address == "+84912345678" and opt_out.source == "staff"
    twice = editor.post("/audiences/optouts", {"channel": "sms", "address": "+84912345678",
                                               "reason": "lại"})
    assert twice.status_code == 422 and "Đã từ chối nhận tin từ trước." in twice.get_data(
        as_text=True)
    found = editor.get("/audiences/optouts?address=0912345678").get_data(as_text=True)
    assert "0912 345 678" in found
    assert editor.post(f"/audiences/optouts/{opt_out.id}/remove", {"reason": ""}).status_code \
        == 422
    lifted = editor.post(f"/audiences/optouts/{opt_out.id}/remove", {"reason": "Đăng ký lại"})
    assert lifted.status_code == 302
    assert db.session.scalar(select(OptOut.id)) is None
    assert db.session.scalar(select(AuditEvent.reason).where(
        AuditEvent.action == "optout.remove")) == "Đăng ký lại"


def test_contact_search_and_devices(backend: str, as_role: Any) -> None:
    from tests.helpers import web as helpers

    helpers.contact_list(numbers=2)
    editor = as_role("editor")
    html = editor.get("/audiences/contacts?q=0912340001&operator=viettel").get_data(as_text=True)
    assert "0912 340 001" in html and "0912 340 000" not in html
    assert editor.get("/audiences/contacts?locality_id=abc&list_id=").status_code == 200
    assert "Chưa có thiết bị nào" in editor.get("/audiences/devices").get_data(as_text=True)


def _book(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# (file, its name, the refusal's code and values in the API, words on the Vietnamese page).
REFUSED_FILES = [
    (b"", "trong.csv", {"code": "file_empty"}, "Tệp không có dữ liệu."),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "cong-van.pdf",
     {"code": "not_csv_or_xlsx", "name": "cong-van.pdf"},
     "cong-van.pdf không phải tệp CSV hoặc XLSX."),
    (b"phone\n0912345678\n\x81\x8d\n", "ansi.csv",
     {"code": "not_text", "byte": "0x81", "line": "3"}, "dòng 3"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "cu.xls", {"code": "xls_file"},
     "Đây là tệp Excel 97-2003 (.xls) cũ"),
    (_book([["phone"], *[[f"09123456{n:02d}"] for n in range(60)]]), "dai.xlsx",
     {"code": "rows_declared", "rows": "61", "limit": "50"}, "vượt giới hạn 50 dòng"),
    (b"name\nAn\n", "khong-so.csv", {"code": "no_phone_column", "line": "1"},
     "Không có cột số điện thoại"),
]


def test_a_refused_file_is_told_in_vietnamese_on_its_page_and_by_its_code_in_the_api(
        backend: str, app: Any, as_role: Any, api: Any, people: dict[str, Any],
        monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 50)
    editor = as_role("editor")
    editor.post("/audiences/lists", {"name": "Tệp hỏng"})
    lst = db.session.scalars(select(ContactList)).one()
    machine = api.as_(people["editor"])
    for content, name, refusal, words in REFUSED_FILES:
        sent = editor.post(f"/audiences/lists/{lst.id}/import",
                           {"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
        page = sent.headers["Location"]
        _work()
        html = editor.get(page).get_data(as_text=True)
        assert 'role="alert"' in html and words in html, (name, html)
        assert f"{refusal['code']}?" not in html and "is not" not in html  # no code, no English
        body = machine.get(f"/api/imports/{page.rsplit('/', 1)[-1]}").json
        assert body["status"] == "failed", body
        assert body["refusal"].items() >= refusal.items(), body
        assert body["refusal"]["message"] == body["message"]  # the English sentence
        assert not body["message"].startswith(refusal["code"])
