"""The files clerks really have, uploaded through the API: the report a clerk reads.

Windows-1258 from Excel on a Vietnamese Windows (tones as combining marks, `;`), UTF-16 with a
BOM, title rows, Vietnamese headers, localities as people write them, stray quotes, NUL bytes,
and phone cells with letters.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Contact, Locality
from tests.helpers.factories import upload_import
from tests.helpers.files import windows_1258


def _editor(api: Any, people: dict[str, Any]) -> tuple[Any, int]:
    editor = api.as_(people["editor"])
    return editor, editor.post("/api/lists", json={"name": "Đoàn viên xã"}).json["id"]


def _upload(caller: Any, list_id: int, content: bytes, name: str = "danh-sach.csv") -> Any:
    """The import's record once its job has run (GET /api/imports/<id>)."""
    return upload_import(caller, list_id, content, name)


def _place(code: str) -> int:
    return db.session.scalar(select(Locality.id).where(Locality.code == code))


def _stored(msisdn: str) -> Contact:
    contact = db.session.scalar(select(Contact).where(Contact.msisdn == msisdn))
    assert contact is not None, msisdn
    return contact


def _problems(entries: list[dict[str, Any]]) -> list[tuple[int, str | None, str]]:
    return [(e["line"], e["column"], e["reason"]) for e in entries]


EXCEL_VN = (
    "DANH SÁCH ĐOÀN VIÊN NĂM 2025;;;\r\n"
    ";;;\r\n"
    "STT;Họ và tên;Số điện thoại;Thành phố\r\n"
    "1;Nguyễn Văn Ấn;0912 345 678;TP. Ngã Bảy\r\n"
    "2;Trần Thị Hồng Nhung;0987.654.321;Thanh pho Vi Thanh\r\n"
    "3;Lê Đức Thọ;0912abc345;Ngã Bảy\r\n"
    "4;Phạm Thị Quỳnh;(+84) 90 123 4567;Thành phố Cần Thơ\r\n"
)


def test_a_windows_1258_file_from_excel_is_read_composed_and_reported(api, people, backend):
    data = windows_1258(EXCEL_VN)
    assert "\u0303".encode("cp1258") in data  # the tones really are combining in the file
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, data)
    assert resp.json["status"] == "completed", resp.json
    report = resp.json
    assert report["encoding"] == "Windows-1258"
    assert (report["total_rows"], report["imported_rows"], report["error_rows"],
            report["warning_rows"]) == (4, 3, 1, 2)
    assert report["errors"] == [{"line": 6, "column": "Số điện thoại", "value": "0912abc345",
                                 "reason": "contains letters"}]
    assert report["warnings"] == [
        {"line": 1, "column": None, "value": "DANH SÁCH ĐOÀN VIÊN NĂM 2025",
         "reason": "above the header row: not read as a contact"},
        {"line": 7, "column": "Thành phố", "value": "Thành phố Cần Thơ",
         "reason": "unknown locality"},
    ]
    an = _stored("+84912345678")
    assert an.name == "Nguyễn Văn Ấn" and unicodedata.is_normalized("NFC", an.name)
    assert an.locality_id == _place("nga-bay")
    assert _stored("+84987654321").locality_id == _place("vi-thanh")
    quynh = _stored("+84901234567")  # a valid number is not dropped for its locality
    assert quynh.name == "Phạm Thị Quỳnh" and quynh.locality_id is None
    assert db.session.scalar(select(Contact).where(Contact.msisdn == "+84912222345")) is None


@pytest.mark.parametrize(("encoding", "label"), [("utf-16-le", "UTF-16 LE"),
                                                 ("utf-16-be", "UTF-16 BE")])
def test_utf16_with_a_bom_tab_separated_as_excel_saves_unicode_text(api, people, backend,
                                                                    encoding, label):
    text = "SĐT\tHọ tên\tHuyện\r\n0912345678\tNguyễn Thị Ánh\tH. Phụng Hiệp\r\n" \
           "0961234567\tVõ Văn Em\tLong Mỹ\r\n"
    bom = "\ufeff".encode(encoding)
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, bom + text.encode(encoding), "danh-sach.txt")
    assert resp.json["status"] == "completed", resp.json
    assert resp.json["encoding"] == label and resp.json["imported_rows"] == 2
    assert resp.json["warnings"] == []
    assert _stored("+84912345678").name == "Nguyễn Thị Ánh"
    assert _stored("+84912345678").locality_id == _place("phung-hiep")
    # "Long Mỹ" is a town and a district; under a "Huyện" column it is the district.
    assert _stored("+84961234567").locality_id == _place("long-my")


def test_localities_with_prefixes_abbreviations_and_no_diacritics(api, people, backend):
    rows = [("0912000001", "TP. Ngã Bảy", "nga-bay"),
            ("0912000002", "Thành phố Ngã Bảy", "nga-bay"),
            ("0912000003", "TX Long Mỹ", "long-my-tx"),
            ("0912000004", "H. Phụng Hiệp", "phung-hiep"),
            ("0912000005", "huyen phung hiep", "phung-hiep"),
            ("0912000006", "vi thuy", "vi-thuy"),
            ("0912000007", "TP.Vị Thanh", "vi-thanh"),
            ("0912000008", "Tx. Long My", "long-my-tx"),
            ("0912000009", "CHAU THANH A", "chau-thanh-a")]
    body = "Di động,Địa bàn\n" + "".join(f"{n},{place}\n" for n, place, _ in rows)
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, body.encode())
    assert resp.json["status"] == "completed", resp.json
    assert resp.json["errors"] == [] and resp.json["warnings"] == []
    for number, _, code in rows:
        assert _stored("+84" + number[1:]).locality_id == _place(code), number


@pytest.mark.parametrize("header", [
    "Số điện thoại", "SO DIEN THOAI", "số điện thoại", "SĐT", "sdt", "Điện thoại", "DIEN THOAI",
    "Di động", "di dong", "Số di động", "phone", "Phone_Number", "MSISDN",
])
def test_common_vietnamese_phone_headers(api, people, backend, header):
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, f"{header};Họ tên\n0912345678;An\n".encode())
    assert resp.json["status"] == "completed", resp.json
    assert resp.json["imported_rows"] == 1 and resp.json["errors"] == []


@pytest.mark.parametrize("header", ["Huyện", "Quận", "Thị xã", "Thành phố", "Xã", "Phường",
                                    "Thị trấn", "Địa bàn", "DIA BAN", "huyen"])
def test_common_vietnamese_locality_headers(api, people, backend, header):
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, f"Họ và tên,SĐT,{header}\nAn,0912345678,vi-thuy\n".encode())
    assert resp.json["status"] == "completed", resp.json
    assert resp.json["errors"] == [] and resp.json["warnings"] == []
    assert _stored("+84912345678").locality_id == _place("vi-thuy")


def test_a_district_and_a_commune_column_give_the_commune_of_that_district(api, people, backend):
    for district in ("long-my", "vi-thuy"):  # two communes named alike, in two districts
        db.session.add(Locality(code=f"{district}-tan-phu", name="Xã Tân Phú", kind="commune",
                                parent_id=_place(district)))
    db.session.commit()
    body = ("SĐT,Huyện,Xã\n0912345678,Huyện Vị Thủy,Tân Phú\n0912345679,Long Mỹ,Xã Tân Phú\n"
            "0912345670,Vị Thủy,Xã Không Có\n")
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, body.encode())
    assert resp.json["status"] == "completed", resp.json
    assert resp.json["errors"] == [] and resp.json["warnings"] == []
    assert _stored("+84912345678").locality_id == _place("vi-thuy-tan-phu")
    # "Long Mỹ" under "Huyện" is the district (not the town), and its Tân Phú is found.
    assert _stored("+84912345679").locality_id == _place("long-my-tan-phu")
    # An unknown commune in a known district: the district, as the most specific found.
    assert _stored("+84912345670").locality_id == _place("vi-thuy")


def test_an_unclosed_quote_is_an_error_row_and_swallows_nothing(api, people, backend):
    body = ('phone,name\n'
            '"abc\n'                       # line 2: the quote never closes
            '0912345015,def\n'             # line 3: a row of its own, not part of a name
            '0912345016,"Nguyễn\n'          # line 4: a cell running over a line break
            'Văn An"\n'                    # line 5: what is left of it
            '0912345017,"Lê, Thị Bình"\n')  # line 6: a quoted comma is fine
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, body.encode())
    assert resp.json["status"] == "completed", resp.json
    report = resp.json
    quote = "a quote opened on this line is not closed on it (a cell cannot span lines)"
    assert report["errors"] == [
        {"line": 2, "column": None, "value": '"abc', "reason": quote},
        {"line": 4, "column": None, "value": '0912345016,"Nguyễn', "reason": quote},
        {"line": 5, "column": None, "value": 'Văn An"',
         "reason": "too few cells: 1, the header has 2"},
    ]
    # Every line after the header is a row that is imported or listed.
    assert (report["total_rows"], report["imported_rows"], report["error_rows"]) == (5, 2, 3)
    assert _stored("+84912345015").name == "def"
    assert _stored("+84912345017").name == "Lê, Thị Bình"


def test_nul_bytes_anywhere_refuse_the_file_naming_the_line(api, people, backend):
    good = "".join(f"09{n:08d},Người {n}\n" for n in range(61200000, 61204000))  # ~90 KB
    data = b"phone,name\n" + good.encode() + b"0912345678,A\x00B\n"
    assert len(data) > 64 * 1024
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, data)
    assert resp.json["status"] == "failed", resp.json
    assert [resp.json["message"]] == [
        "Line 4002 contains a NUL character (byte 0): the file is damaged or not a CSV."]
    assert db.session.scalar(select(Contact.id)) is None


def test_a_line_that_is_not_utf8_is_named_by_its_own_number(api, people, backend):
    good = "".join(f"09{n:08d},Người {n}\n" for n in range(61200000, 61204000))
    data = b"phone,name\n" + good.encode() + b"0912345678,\xff\xfe broken\n0912345679,ok\n"
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, data)
    assert resp.json["status"] == "failed", resp.json
    message = resp.json["message"]
    assert message.startswith("Line 4002 is not valid UTF-8 (byte ")


def test_text_that_is_no_encoding_at_all_is_refused(api, people, backend):
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, b"phone,name\n0912345678,\x81\x8d\x8e\n")
    assert resp.json["status"] == "failed", resp.json
    assert [resp.json["message"]] == [
        "The file is not text in UTF-8, UTF-16 or Windows-1258: byte 0x81 on line 2 is none of "
        "them. Save it as 'CSV UTF-8' or XLSX."]


def test_phone_cells_with_letters_or_symbols_are_refused_with_line_column_and_value(
        api, people, backend):
    body = ("phone,name\n0912abc345,A\n0912 345 678 ext 1,B\n0912#345678,C\n"
            "0912\u00a0345\u00a0679,D\n")
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, body.encode())
    assert resp.json["status"] == "completed", resp.json
    assert _problems(resp.json["errors"]) == [
        (2, "phone", "contains letters"), (3, "phone", "contains letters"),
        (4, "phone", "contains a character that is not a digit, space, . - ( ) or a leading +: "
                     "'#'")]
    assert resp.json["errors"][0]["value"] == "0912abc345"
    assert [c.msisdn for c in db.session.scalars(select(Contact))] == ["+84912345679"]
    # The refused rows to fix and send again say why in Vietnamese, the named character too.
    refused = editor.get(f"/api/imports/{resp.json['id']}/refused.csv",
                         headers={"Accept-Language": "vi"}).get_data().decode("utf-8-sig")
    lines = refused.splitlines()
    assert len(lines) == 1 + 3 and lines[1].endswith(",số điện thoại có chữ")
    assert lines[3].startswith("0912#345678,C,") and "số điện thoại có ký tự" in lines[3]
    assert "contains a character" not in refused


def test_every_way_in_refuses_a_number_with_letters(api, people, backend):
    editor = api.as_(people["editor"])
    resp = editor.post("/api/contacts", json={"msisdn": "0912abc345"})
    assert resp.status_code == 422
    assert "contains letters" in resp.json["errors"]["msisdn"][0]
    admin = api.as_(people["admin"])
    opt_out = admin.post("/api/optouts", json={"channel": "sms", "address": "0912abc345"})
    assert opt_out.status_code == 422 and "contains letters" in str(opt_out.json["errors"])


def test_names_are_found_without_diacritics_or_case(api, people, backend):
    data = windows_1258("SĐT;Họ tên\r\n0912345678;Nguyễn Văn Ấn\r\n0987654321;Đặng Thị Lan\r\n"
                        "0901234567;Trần Văn Bình\r\n")
    editor, list_id = _editor(api, people)
    assert _upload(editor, list_id, data).json["status"] == "completed"
    editor.post("/api/contacts", json={"msisdn": "0961234567", "name": "NGUYỄN THỊ HOA"})

    def found(q: str) -> list[str]:
        return [c["msisdn"] for c in editor.get("/api/contacts", query_string={"q": q})
                .json["items"]]

    assert found("nguyen") == ["+84912345678", "+84961234567"]
    assert found("Nguyễn văn") == ["+84912345678"]
    assert found(unicodedata.normalize("NFD", "văn ấn")) == ["+84912345678"]
    assert found("dang thi") == ["+84987654321"]
    assert found("ĐẶNG") == ["+84987654321"]
    assert found("100%") == []  # LIKE's wildcards are the text searched for


def test_a_workbook_with_a_merged_title_above_its_header(api, people, backend):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["ỦY BAN NHÂN DÂN XÃ HỎA LỰU"])
    sheet.append(["Danh sách hộ gia đình"])
    sheet.append([])
    sheet.append(["STT", "Họ và tên", "SĐT", "Thị xã", "Ghi chú"])
    sheet.append([1, unicodedata.normalize("NFD", "Nguyễn Văn Ấn"), 912345678, "Long Mỹ"])
    sheet.append([2, "Trần Thị Bình", "0987 654 321"])
    buffer = io.BytesIO()
    book.save(buffer)
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, buffer.getvalue(), "ho-gia-dinh.xlsx")
    assert resp.json["status"] == "completed", resp.json
    report = resp.json
    assert report["encoding"] is None and report["imported_rows"] == 2
    assert _problems(report["warnings"]) == [
        (1, None, "above the header row: not read as a contact"),
        (2, None, "above the header row: not read as a contact")]
    assert report["errors"] == [{"line": 4, "column": "Ghi chú", "value": "Ghi chú",
                                 "reason": "unknown column (prefix it with attr_ to keep it as "
                                           "an attribute)"}]
    an = _stored("+84912345678")
    assert an.name == "Nguyễn Văn Ấn" and an.locality_id == _place("long-my-tx")
    assert _stored("+84987654321").name == "Trần Thị Bình"


def test_a_header_with_an_unclosed_quote_is_named_as_the_header(api, people, backend):
    editor, list_id = _editor(api, people)
    resp = _upload(editor, list_id, b'"phone,name\n0912345678,An\n')
    assert resp.json["status"] == "failed", resp.json
    assert [resp.json["message"]] == [
        "Line 1, the header: a quote opened on this line is not closed on it (a cell cannot "
        "span lines): '\"phone,name'."]
