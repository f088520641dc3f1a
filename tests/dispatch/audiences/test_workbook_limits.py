"""Workbook bombs are refused cheaply, naming the limit; a real workbook still imports.

The bombs are built here, small: a sheet declaring A1:XFD1048576 (openpyxl would pad every row
to it), a shared string that decompresses far past its limit, a part whose real size exceeds
the size it declares, one absurdly long cell, and sheets holding too many rows or cells.
"""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dispatch.audiences import contacts as contacts_service
from dispatch.audiences import refusals
from dispatch.audiences.importer import import_file
from dispatch.extensions import db
from dispatch.models import Contact
from tests.helpers.factories import upload_import

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_part(content: bytes, name: str, data: bytes | None = None, *,
               edit: Any = None) -> bytes:
    """The workbook with one part replaced (or edited), deflated like Excel does."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == name:
                body = data if data is not None else edit(body)
            target.writestr(info.filename, body)
        if name not in source.namelist():
            target.writestr(name, data or b"")
    return out.getvalue()


STRINGS_TYPE = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')


def _shared(strings: bytes) -> bytes:
    """A workbook whose phone cell A2 is the shared string 0 (openpyxl writes inline ones)."""
    plain = _workbook([["phone"], ["0912345678"]])
    typed = _with_part(plain, "[Content_Types].xml",
                       edit=lambda xml: xml.replace(b"</Types>", STRINGS_TYPE))
    sheet = _with_part(typed, SHEET, edit=lambda xml: xml.replace(
        b'<c r="A2" t="inlineStr"><is><t>0912345678</t></is></c>', b'<c r="A2" t="s"><v>0</v></c>'))
    return _with_part(sheet, STRINGS, strings)


def _strings(n_chars: int) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org'
            b'/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>' + b"9" * n_chars
            + b"</t></si></sst>")


def _import(content: bytes) -> tuple[Any, float]:
    contact_list = contacts_service.create_list(f"Bom {time.perf_counter_ns()}", actor=None)
    db.session.commit()
    started = time.perf_counter()
    record = import_file(io.BytesIO(content), "bom.xlsx", contact_list, actor=None)
    return record, time.perf_counter() - started


def _refused(content: bytes, limit: str) -> str:
    record, seconds = _import(content)
    assert record.status == "failed", record.message
    assert limit in str(refusals.text(record.message))
    assert seconds < 5, f"refusing took {seconds:.1f} s"
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    return str(refusals.text(record.message))


def test_a_sheet_declaring_every_cell_of_excel_is_refused_by_its_dimension(app, backend):
    plain = _workbook([["phone"], ["0912345678"]])
    bomb = _with_part(plain, SHEET, edit=lambda xml: xml.replace(
        b'<dimension ref="A1:A2"/>', b'<dimension ref="A1:XFD1048576"/>'))
    assert len(bomb) < 10_000
    message = _refused(bomb, "LOA_IMPORT_MAX_CELLS")
    assert "1,048,576 rows × 16,384 columns" in message


def test_a_huge_shared_string_is_refused_before_it_is_decompressed(app, backend, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_SHARED_STRINGS_MB", 1)
    bomb = _shared(_strings(20 * 1024 * 1024))  # 20 MB of '9' deflate to 20 KB
    assert len(bomb) < 100_000
    message = _refused(bomb, "LOA_IMPORT_MAX_SHARED_STRINGS_MB")
    assert "declares 20 MB" in message


def test_a_part_larger_than_it_declares_is_stopped_while_it_streams(app, backend, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_PART_MB", 1)
    monkeypatch.setitem(app.config, "IMPORT_MAX_CELL_CHARS", 10_000_000)
    bomb = _shared(_strings(3 * 1024 * 1024))
    # Lie in the headers: the central directory and the local header declare 1 KB.
    raw = bytearray(bomb)
    archive = zipfile.ZipFile(io.BytesIO(bomb))
    info = archive.getinfo(STRINGS)
    real = info.file_size.to_bytes(4, "little")
    assert raw.count(real) >= 2
    raw = bytearray(bytes(raw).replace(real, (1024).to_bytes(4, "little")))
    monkeypatch.setitem(app.config, "IMPORT_MAX_SHARED_STRINGS_MB", 1)
    record, seconds = _import(bytes(raw))
    assert record.status == "failed" and seconds < 5
    # Either the real size is caught while streaming, or zipfile itself stops at the
    # declared size and the part no longer checks out: never 3 MB read into memory.
    said = str(refusals.text(record.message))
    assert "LOA_IMPORT_MAX_SHARED_STRINGS_MB" in said or "not a readable XLSX" in said, said


def test_one_absurdly_long_cell_is_refused(app, backend):
    plain = _workbook([["phone"], ["0912345678"]])
    # The shared string is read (9999999999 is no mobile number), then a long one is refused.
    read = _import(_shared(_strings(10)))[0]
    assert read.status == "failed" and read.errors[0]["value"] == "9999999999"
    long_string = _shared(_strings(200_000))
    assert "LOA_IMPORT_MAX_CELL_CHARS" in _refused(long_string, "32,767 characters")
    inline = _with_part(plain, SHEET, edit=lambda xml: xml.replace(
        b"<t>0912345678</t>", b"<t>" + b"8" * 2_000_000 + b"</t>"))
    assert b"8" * 2_000_000 in zipfile.ZipFile(io.BytesIO(inline)).read(SHEET)
    _refused(inline, "LOA_IMPORT_MAX_CELL_CHARS")


@pytest.mark.parametrize(("setting", "limit", "named"), [
    ("IMPORT_MAX_ROWS", 50, "LOA_IMPORT_MAX_ROWS"),
    ("IMPORT_MAX_CELLS", 150, "LOA_IMPORT_MAX_CELLS"),
])
def test_sheets_holding_more_than_the_limits_are_refused(app, backend, monkeypatch, setting,
                                                         limit, named):
    monkeypatch.setitem(app.config, setting, limit)
    rows = [["phone", "name"]] + [[f"09123{i:05d}", "An"] for i in range(100)]
    # No dimension at all: the limit holds on what the sheet really holds.
    book = _with_part(_workbook(rows), SHEET, edit=lambda xml: xml.replace(
        b'<dimension ref="A1:B101"/>', b""))
    assert "holds more than" in _refused(book, named)


def test_a_real_workbook_within_the_limits_imports_through_the_job(api, people, backend):
    rows = [["Số điện thoại", "Họ tên"]] + [[f"09123{i:05d}", "Nguyễn Văn An"]
                                            for i in range(2_000)]
    rows.append(["0912", "Bình"])
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    done = upload_import(editor, list_id, _workbook(rows), "danh-ba.xlsx").json
    assert (done["status"], done["imported_rows"], done["error_rows"]) == ("completed", 2000, 1)


def test_the_limits_of_a_refused_bomb_show_through_the_api(api, people, backend):
    plain = _workbook([["phone"], ["0912345678"]])
    bomb = _with_part(plain, SHEET, edit=lambda xml: xml.replace(
        b'<dimension ref="A1:A2"/>', b'<dimension ref="A1:XFD1048576"/>'))
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    done = upload_import(editor, list_id, bomb, "bom.xlsx").json
    assert done["status"] == "failed" and "LOA_IMPORT_MAX_CELLS" in done["message"]
