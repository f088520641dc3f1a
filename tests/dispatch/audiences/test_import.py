"""Importing CSV and XLSX files: the report, merging, and all-or-nothing on failure."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dispatch.audiences import contacts as contacts_service
from dispatch.audiences import refusals, writer
from dispatch.audiences.importer import BAD_OPERATOR, UNKNOWN_COLUMN, import_file
from dispatch.extensions import db
from dispatch.models import (
    AuditEvent,
    Contact,
    ContactImport,
    ContactList,
    ListMember,
    Locality,
)

DATA = Path(__file__).resolve().parents[2] / "data"


def _list(name: str = "Đoàn viên") -> Any:
    contact_list = contacts_service.create_list(name, actor=None)
    db.session.commit()
    return contact_list


def _import(content: bytes | Path, name: str = "contacts.csv", **kw: Any) -> ContactImport:
    contact_list = kw.pop("contact_list", None) or _list()
    data = content.read_bytes() if isinstance(content, Path) else content
    return import_file(io.BytesIO(data), name, contact_list, actor=None, **kw)


def _contact(msisdn: str) -> Contact:
    contact = db.session.scalar(select(Contact).where(Contact.msisdn == msisdn))
    assert contact is not None, msisdn
    return contact


def _locality(code: str) -> int:
    return db.session.scalar(select(Locality.id).where(Locality.code == code))


def _members(list_id: int) -> set[str]:
    return set(db.session.scalars(
        select(Contact.msisdn).join(ListMember, ListMember.contact_id == Contact.id)
        .where(ListMember.list_id == list_id)))


def test_every_kind_of_bad_row_is_reported_and_good_rows_imported(app, backend):
    record = _import(DATA / "contacts_bad_rows.csv")
    assert record.status == "completed"
    assert record.errors == [
        {"line": 1, "column": "notes", "value": "notes", "reason": UNKNOWN_COLUMN},
        {"line": 3, "column": "phone", "value": "0912 34", "reason": "invalid number"},
        {"line": 4, "column": "phone", "value": "0292 3812 345", "reason": "not a mobile number"},
        {"line": 5, "column": "phone", "value": "+1 202 555 0143",
         "reason": "not a Vietnamese number"},
        {"line": 6, "column": "phone", "value": "", "reason": "empty"},
        {"line": 8, "column": "operator", "value": "vinafone", "reason": BAD_OPERATOR},
        {"line": 10, "column": None, "value": "0987654321,Đặng Văn Giang,Huyện Phụng Hiệp,viettel",
         "reason": "too few cells: 4, the header has 6"},
        {"line": 11, "column": None, "value": "0987654322,Too,,,,,x,y",
         "reason": "too many cells: 8, the header has 6"},
        {"line": 14, "column": "phone", "value": "0123", "reason": "invalid number"},
        {"line": 14, "column": "locality", "value": "nowhere", "reason": "unknown locality"},
    ]
    # An unknown locality does not drop a valid number: imported without one, with a warning.
    assert record.warnings == [
        {"line": 7, "column": "locality", "value": "Huyện Không Có", "reason": "unknown locality"},
    ]
    # Lines 2-11, 13, 14: the blank line 12 and the empty-cells line 15 are not rows.
    assert (record.total_rows, record.imported_rows, record.new_contacts,
            record.duplicate_rows, record.error_rows, record.warning_rows) == (12, 4, 3, 1, 8, 1)
    assert record.message == ("4 of 12 rows imported (3 new contacts, 1 duplicate rows merged); "
                              "8 rows with errors. 1 rows with warnings.")
    assert record.encoding == "UTF-8"
    assert record.finished_at is not None

    an = _contact("+84912345678")  # lines 2 and 9, merged: the later name, the earlier rest
    assert (an.name, an.locality_id, an.operator, an.attributes) == (
        "Nguyễn Văn An (mới)", _locality("vi-thanh"), "vinaphone", {"group": "doan-vien"})
    lan = _contact("+84987654323")  # locality by code in another case, operator by carrier name
    assert (lan.locality_id, lan.operator, lan.operator_override, lan.effective_operator) == (
        _locality("phung-hiep"), "viettel", "mobifone", "mobifone")
    assert _contact("+84961234567").locality_id is None
    assert _members(record.list_id) == {"+84912345678", "+84961234567", "+84987654323"}
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contacts.import"))
    assert event.details["import_id"] == record.id and event.details["new_contacts"] == 3


def test_semicolons_bom_crlf_quoted_cells_and_vietnamese_headers(app, backend):
    record = _import(DATA / "contacts_semicolon_bom.csv")
    assert (record.total_rows, record.imported_rows, record.error_rows) == (3, 2, 1)
    assert record.errors == [{"line": 4, "column": "Số điện thoại", "value": "0292 3812 345",
                              "reason": "not a mobile number"}]
    an = _contact("+84912345678")
    assert an.locality_id == _locality("vi-thanh")  # by its name, "Thành phố Vị Thanh"
    assert an.attributes == {"nghe_nghiep": "giáo viên"}
    binh = _contact("+84987654321")
    assert binh.name == "Lê, Thị Bình" and binh.locality_id == _locality("vi-thuy")
    assert binh.attributes == {}


def test_xlsx_numbers_typed_as_numbers_and_text(app, backend, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["SĐT", "Họ và tên", "Nhà mạng", "attr_ngay"])
    sheet.append([912345678, "An", None, None])  # Excel dropped the leading 0
    sheet.append([987654321.0, "Bình", "viettel", None])
    sheet.append([None, None, None, None])  # blank row
    sheet.append(["+84 90 123 4567", "Cường", None, "2025-07-01"])
    sheet.append(["0292 3812 345", "Cơ quan", None, None])
    sheet.append(["0901234568", "Dũng", None, None, "extra"])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    record = _import(path, "contacts.xlsx")
    assert record.status == "completed", record.message
    assert (record.total_rows, record.imported_rows, record.error_rows) == (5, 3, 2)
    assert [(e["line"], e["reason"]) for e in record.errors] == [
        (6, "not a mobile number"), (7, "too many cells: 5, the header has 4")]
    assert _contact("+84912345678").name == "An"
    assert _contact("+84987654321").operator_override == "viettel"
    assert _contact("+84901234567").attributes == {"ngay": "2025-07-01"}


def test_merge_with_existing_contacts_keeps_what_empty_cells_do_not_give(app, backend):
    contacts_service.create_contact(
        "0912345678", actor=None, name="Old name", locality_id=_locality("nga-bay"),
        operator_override="viettel", attributes={"group": "old", "since": "2020"})
    db.session.commit()
    before = _contact("+84912345678")
    created_at = before.created_at
    csv = ("phone,name,locality,operator,attr_group\n"
           "0912345678,,,,\n"
           "0912 345 678,,,,new\n"
           "0961234567,Mới,,,\n").encode()
    record = _import(csv)
    assert (record.imported_rows, record.new_contacts, record.duplicate_rows) == (3, 1, 1)
    db.session.expire_all()
    merged = _contact("+84912345678")
    assert (merged.name, merged.locality_id, merged.operator_override) == (
        "Old name", _locality("nga-bay"), "viettel")
    assert merged.attributes == {"group": "new", "since": "2020"}
    assert merged.created_at == created_at and merged.updated_at >= created_at
    assert _members(record.list_id) == {"+84912345678", "+84961234567"}

    again = _import(csv, contact_list=db.session.get(ContactList, record.list_id))
    assert (again.new_contacts, again.imported_rows, again.duplicate_rows) == (0, 3, 1)


def test_an_import_failing_midway_changes_nothing(app, backend, monkeypatch):
    contact_list = _list()
    contacts_service.create_contact("0912345678", actor=None, name="Kept",
                                    list_ids=[contact_list.id])
    db.session.commit()
    rows = "".join(f"09{n:08d},Người {n},,\n" for n in range(61234500, 61234510))
    csv = f"phone,name,operator\n0912345678,Changed,viettel\n{rows}".encode()

    original = writer.ContactWriter.send
    calls = {"n": 0}

    def fail_on_second(self: writer.ContactWriter, prepared: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return original(self, prepared)

    monkeypatch.setattr(writer.ContactWriter, "send", fail_on_second)
    with pytest.raises(RuntimeError, match="went away"):
        _import(csv, contact_list=contact_list, batch_size=3)
    assert calls["n"] == 2
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    kept = _contact("+84912345678")
    assert (kept.name, kept.operator_override) == ("Kept", None)
    assert _members(contact_list.id) == {"+84912345678"}
    record = db.session.scalar(select(ContactImport))
    assert record.status == "failed" and "RuntimeError" in record.message
    assert record.imported_rows == 0 and record.finished_at is not None


def test_a_file_broken_midway_changes_nothing(app, backend):
    contact_list = _list()
    good = "".join(f"09{n:08d},Người {n}\n" for n in range(61200000, 61204000))  # ~90 kB
    data = b"phone,name\n" + good.encode() + b"0912345678,\xff\xfe broken\n"
    record = _import(data, contact_list=contact_list, batch_size=500)
    assert record.status == "failed"
    assert "not valid UTF-8" in str(refusals.text(record.message))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    assert _members(contact_list.id) == set()


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"%PDF-1.4 binary\x00\x01", "report.pdf", "is not a CSV or XLSX file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "old.xls", "old Excel 97-2003"),
    (b"PK\x03\x04not really a zip", "fake.xlsx", "not a readable XLSX workbook"),
    (b"name,locality\nAn,vi-thanh\n", "contacts.csv", "No phone column"),
    (b"phone,sdt\n0912345678,0912345678\n", "contacts.csv", "both give phone"),
    (b"", "empty.csv", "The file is empty"),
    (b"phone\n\x81\x8d\n", "ansi.csv", "not text in UTF-8, UTF-16 or Windows-1258"),
])
def test_files_that_cannot_be_imported_leave_only_a_failed_record(app, backend, content, name,
                                                                  message):
    record = _import(content, name)
    assert record.status == "failed" and message in str(refusals.text(record.message))
    assert record.imported_rows == 0
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    assert db.session.scalar(select(func.count()).select_from(ContactImport)) == 1


def test_header_only_file_imports_nothing(app, backend):
    record = _import(b"phone,name\n")
    # One answer everywhere (page, API, CLI): an import that imported nothing failed.
    assert record.status == "failed" and record.total_rows == 0
    assert record.message == "The file has a header but no data rows."


def test_stored_errors_are_capped_but_counted(app, backend, monkeypatch):
    monkeypatch.setattr("dispatch.audiences.import_report.ERROR_CAP", 5)
    record = _import(b"phone\n" + b"123\n" * 12 + b"0912345678\n")
    assert record.error_rows == 12 and len(record.errors) == 5
    assert record.imported_rows == 1 and "Only the first 5 problems" in record.message


def test_ambiguous_and_inactive_localities(app, backend):
    db.session.get(Locality, _locality("nga-bay")).active = False
    db.session.commit()
    csv = ("phone,locality\n0912345678,Long Mỹ\n0912345679,long-my\n0912345670,Ngã Bảy\n"
           "0912345671,vi thuy\n").encode()
    record = _import(csv)
    assert record.errors == [] and record.imported_rows == 4
    assert [(e["line"], e["reason"]) for e in record.warnings] == [
        (2, "ambiguous locality: use its code"), (4, "locality is no longer active")]
    assert _contact("+84912345678").locality_id is None
    assert _contact("+84912345679").locality_id == _locality("long-my")
    assert _contact("+84912345671").locality_id == _locality("vi-thuy")
