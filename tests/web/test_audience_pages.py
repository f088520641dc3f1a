"""Lists and imports with their row report, contacts, opt-outs and devices, through the pages."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, ContactList, OptOut
from tests.files import windows_1258


def test_create_list_and_import_a_file_with_bad_rows(backend: str, as_role: Any,
                                                     data_dir: Path) -> None:
    editor = as_role("editor")
    created = editor.post("/audiences/lists", {"name": "Đoàn viên", "description": "Xã A"})
    lst = db.session.scalars(select(ContactList)).one()
    assert created.headers["Location"] == f"/audiences/lists/{lst.id}"
    with open(data_dir / "contacts_bad_rows.csv", "rb") as fh:
        response = editor.post(f"/audiences/lists/{lst.id}/import",
                               {"file": (fh, "danh-sach.csv"), "progress_key": "abcdef123456"},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    report = editor.get(response.headers["Location"])
    html = report.get_data(as_text=True)
    assert report.status_code == 200 and 'id="import-errors"' in html
    assert "số không hợp lệ" in html  # a row reason, translated
    assert "Huyện Không Có" in html  # the bad value, quoted
    listing = editor.get(f"/audiences/lists/{lst.id}").get_data(as_text=True)
    assert "+84912345678" in listing and "danh-sach.csv" in listing
    progress = editor.get("/audiences/imports/progress/abcdef123456").json
    assert progress["done"] == progress["size"] > 0


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
    assert "+84912345678" in found
    assert editor.post(f"/audiences/optouts/{opt_out.id}/remove", {"reason": ""}).status_code \
        == 422
    lifted = editor.post(f"/audiences/optouts/{opt_out.id}/remove", {"reason": "Đăng ký lại"})
    assert lifted.status_code == 302
    assert db.session.scalar(select(OptOut.id)) is None
    assert db.session.scalar(select(AuditEvent.reason).where(
        AuditEvent.action == "optout.remove")) == "Đăng ký lại"


def test_contact_search_and_devices(backend: str, as_role: Any) -> None:
    from tests.web import helpers

    helpers.contact_list(numbers=2)
    editor = as_role("editor")
    html = editor.get("/audiences/contacts?q=0912340001&operator=viettel").get_data(as_text=True)
    assert "+84912340001" in html and "+84912340000" not in html
    assert editor.get("/audiences/contacts?locality_id=abc&list_id=").status_code == 200
    assert "Chưa có thiết bị nào" in editor.get("/audiences/devices").get_data(as_text=True)
