"""Contacts, lists, imports, opt-outs, localities and devices through the API."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from dispatch.audiences.optouts import add_opt_out, opted_out
from dispatch.extensions import db
from dispatch.models import AuditEvent, Device, Locality
from tests.helpers.factories import upload_import

DATA = Path(__file__).resolve().parents[2] / "data"


def _upload(caller, list_id: int, content: bytes, name: str = "contacts.csv"):
    return upload_import(caller, list_id, content, name)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_upload_returns_the_report_and_the_import_can_be_read_back(api, people, backend):
    editor = api.as_(people["editor"])
    created = editor.post("/api/lists", json={"name": "Đoàn viên", "description": "2025"})
    assert created.status_code == 201 and created.json["contact_count"] == 0
    list_id = created.json["id"]

    resp = _upload(editor, list_id, (DATA / "contacts_bad_rows.csv").read_bytes())
    assert resp.status_code == 200, resp.json
    report = resp.json
    assert (report["status"], report["total_rows"], report["imported_rows"],
            report["error_rows"], report["new_contacts"]) == ("completed", 12, 4, 8, 3)
    assert report["errors"][1] == {"line": 3, "column": "phone", "value": "0912 34",
                                   "reason": "invalid number"}
    assert report["created_by_id"] == people["editor"].id
    assert report["progress"] is None and report["refused_rows_available"] is True

    again = api.as_(people["approver"]).get(f"/api/imports/{report['id']}")
    assert again.status_code == 200 and again.json == report
    history = editor.get(f"/api/lists/{list_id}/imports").json
    assert history["total"] == 1 and history["items"][0]["id"] == report["id"]
    assert editor.get(f"/api/lists/{list_id}").json["contact_count"] == 3
    members = editor.get(f"/api/lists/{list_id}/members").json
    assert [m["msisdn"] for m in members["items"]] == ["+84912345678", "+84961234567",
                                                       "+84987654323"]


def test_upload_xlsx(api, people, backend):
    book = Workbook()
    book.active.append(["Số điện thoại", "Họ tên", "Địa bàn"])
    book.active.append([912345678, "Nguyễn Văn An", "Vị Thủy"])
    book.active.append(["0292 3812 345", "Cơ quan", None])
    buffer = io.BytesIO()
    book.save(buffer)
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    resp = _upload(editor, list_id, buffer.getvalue(), "danh-sach.xlsx")
    assert resp.json["status"] == "completed", resp.json
    assert (resp.json["imported_rows"], resp.json["error_rows"]) == (1, 1)
    assert resp.json["filename"] == "danh-sach.xlsx"
    (contact,) = editor.get(f"/api/lists/{list_id}/members").json["items"]
    assert contact["msisdn"] == "+84912345678" and contact["name"] == "Nguyễn Văn An"


def test_upload_with_nothing_importable_ends_failed_with_the_report(api, people, backend):
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    body = _upload(editor, list_id, b"phone\n123\n0292 3812 345\n").json
    assert body["status"] == "failed" and body["message"].startswith("Nothing imported")
    assert [(e["line"], e["reason"]) for e in body["errors"]] == [
        (2, "invalid number"), (3, "not a mobile number")]
    assert body["error_rows"] == 2 and body["imported_rows"] == 0

    not_csv = _upload(editor, list_id, b"%PDF-1.7\x00\x00", "scan.pdf").json
    assert not_csv["status"] == "failed"
    assert "scan.pdf is not a CSV or XLSX file" in not_csv["message"]

    no_phone = _upload(editor, list_id, b"name\nAn\n").json
    assert no_phone["status"] == "failed" and "No phone column" in no_phone["message"]


def test_upload_needs_a_file_and_an_existing_list(api, people, backend):
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    missing = editor.post(f"/api/lists/{list_id}/imports", data={},
                          content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["errors"]
    upload_import(editor, 999, b"phone\n0912345678\n", expect=404)


@pytest.mark.parametrize(("role", "status"), [("editor", 202), ("admin", 202),
                                              ("approver", 403)])
def test_who_may_import(api, people, backend, role, status):
    list_id = api.as_(people["editor"]).post("/api/lists", json={"name": "L"}).json["id"]
    upload_import(api.as_(people[role]), list_id, b"phone\n0912345678\n", expect=status)
    upload_import(api, list_id, b"phone\n0912345678\n", expect=401)


def test_contacts_crud_search_and_audit(api, people, backend):
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "L"}).json["id"]
    vi_thanh = db.session.scalar(select(Locality.id).where(Locality.code == "vi-thanh"))
    made = editor.post("/api/contacts", json={
        "msisdn": "0912 345 678", "name": "Nguyễn Văn An", "locality_id": vi_thanh,
        "attributes": {"group": "doan-vien"}, "list_ids": [list_id]})
    assert made.status_code == 201, made.json
    contact = made.json
    assert (contact["msisdn"], contact["operator"], contact["effective_operator"],
            contact["list_ids"]) == ("+84912345678", "vinaphone", "vinaphone", [list_id])
    editor.post("/api/contacts", json={"msisdn": "+84 96 123 4567", "name": "Trần Thị Bình"})

    dup = editor.post("/api/contacts", json={"msisdn": "84912345678"})
    assert dup.status_code == 409 and dup.json["errors"] == {"msisdn": ["Taken."]}
    bad = editor.post("/api/contacts", json={"msisdn": "0292 3812 345"})
    assert bad.status_code == 422
    assert bad.json["errors"] == {"msisdn": ["not a mobile number: '0292 3812 345'"]}
    unknown = editor.post("/api/contacts", json={"msisdn": "0912345679", "locality_id": 999})
    assert unknown.status_code == 422 and "locality_id" in unknown.json["errors"]

    def search(**params):
        return [c["msisdn"] for c in editor.get("/api/contacts", query_string=params)
                .json["items"]]

    assert search() == ["+84912345678", "+84961234567"]
    assert search(q="0912 345 678") == ["+84912345678"]
    assert search(q="096123") == ["+84961234567"]
    assert search(q="bình") == ["+84961234567"]
    assert search(operator="viettel") == ["+84961234567"]
    assert search(locality_id=vi_thanh) == ["+84912345678"]
    assert search(list_id=list_id) == ["+84912345678"]

    cid = contact["id"]
    patched = editor.patch(f"/api/contacts/{cid}",
                           json={"operator_override": "viettel", "locality_id": None})
    assert patched.status_code == 200
    assert (patched.json["operator"], patched.json["operator_override"],
            patched.json["effective_operator"], patched.json["locality_id"]) == (
        "vinaphone", "viettel", "viettel", None)
    assert search(operator="viettel") == ["+84912345678", "+84961234567"]
    wrong = editor.patch(f"/api/contacts/{cid}", json={"operator_override": "vinafone"})
    assert wrong.status_code == 422 and "operator_override" in wrong.json["errors"]
    assert editor.patch(f"/api/contacts/{cid}", json={"msisdn": "x"}).status_code == 422

    (update,) = _audit("contact.update")
    assert update.actor_id == people["editor"].id
    assert update.details["changed"] == ["locality_id", "operator_override"]
    assert update.before_hash != update.after_hash

    assert api.as_(people["approver"]).get(f"/api/contacts/{cid}").status_code == 200
    assert api.as_(people["approver"]).delete(f"/api/contacts/{cid}").status_code == 403
    assert editor.delete(f"/api/contacts/{cid}").status_code == 204
    assert editor.get(f"/api/contacts/{cid}").status_code == 404
    assert len(_audit("contact.delete")) == 1
    assert editor.get(f"/api/lists/{list_id}").json["contact_count"] == 0


def test_lists_crud_and_members(api, people, backend):
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": "Cán bộ"}).json["id"]
    assert editor.post("/api/lists", json={"name": "Cán bộ"}).status_code == 409
    assert editor.post("/api/lists", json={"name": "X", "color": "red"}).status_code == 422
    ids = [editor.post("/api/contacts", json={"msisdn": f"091234567{i}"}).json["id"]
           for i in range(3)]
    added = editor.post(f"/api/lists/{list_id}/members", json={"contact_ids": ids + ids[:1]})
    assert added.json == {"added": 3, "contact_count": 3}
    assert editor.post(f"/api/lists/{list_id}/members",
                       json={"contact_ids": [999]}).status_code == 422
    assert editor.delete(f"/api/lists/{list_id}/members/{ids[0]}").status_code == 204
    assert editor.delete(f"/api/lists/{list_id}/members/{ids[0]}").status_code == 404
    page = editor.get("/api/lists", query_string={"q": "cán"}).json
    assert page["total"] == 1 and page["items"][0]["contact_count"] == 2
    renamed = editor.patch(f"/api/lists/{list_id}", json={"name": "Cán bộ xã"})
    assert renamed.json["name"] == "Cán bộ xã" and renamed.json["contact_count"] == 2
    assert api.as_(people["approver"]).post("/api/lists", json={"name": "Y"}).status_code == 403
    assert editor.delete(f"/api/lists/{list_id}").status_code == 204
    assert editor.get(f"/api/lists/{list_id}").status_code == 404
    assert editor.get("/api/contacts").json["total"] == 3  # the contacts stay


def test_opt_outs_add_filter_remove_with_reason(api, people, backend):
    editor = api.as_(people["editor"])
    made = editor.post("/api/optouts", json={"channel": "sms", "address": "0912 345 678",
                                             "reason": "asked by phone"})
    assert made.status_code == 201, made.json
    assert (made.json["address"], made.json["source"]) == ("+84912345678", "staff")
    again = editor.post("/api/optouts", json={"channel": "sms", "address": "+84912345678"})
    assert again.status_code == 409
    bad = editor.post("/api/optouts", json={"channel": "sms", "address": "0292 3812 345"})
    assert bad.status_code == 422 and bad.json["errors"]["address"] == [
        "not a mobile number: '0292 3812 345'"]
    assert editor.post("/api/optouts", json={"channel": "sms", "address": "0912345679",
                                             "source": "keyword"}).status_code == 422
    push = editor.post("/api/optouts", json={"channel": "push", "address": "inst-1",
                                             "source": "api"})
    assert push.status_code == 201

    assert opted_out("sms", ["+84912345678", "+84961234567"]) == {"+84912345678"}
    assert opted_out("push", ["inst-1", "+84912345678"]) == {"inst-1"}
    add_opt_out("sms", "0961234567", source="keyword", actor=None)
    assert add_opt_out("sms", "0961234567", source="keyword", actor=None, exist_ok=True)
    db.session.commit()

    def listed(**params):
        return [o["address"] for o in editor.get("/api/optouts", query_string=params)
                .json["items"]]

    assert listed(channel="sms") == ["+84961234567", "+84912345678"]
    assert listed(source="keyword") == ["+84961234567"]
    assert listed(address="0912.345.678") == ["+84912345678"]

    oid = made.json["id"]
    assert api.as_(people["approver"]).delete(
        f"/api/optouts/{oid}", json={"reason": "x"}).status_code == 403
    no_reason = editor.delete(f"/api/optouts/{oid}", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    assert editor.delete(f"/api/optouts/{oid}", json={"reason": "wrong number"}).status_code == 204
    assert opted_out("sms", ["+84912345678"]) == set()
    (removed,) = _audit("optout.remove")
    assert removed.reason == "wrong number" and removed.details["address"] == "+84912345678"
    assert removed.actor_id == people["editor"].id
    assert len(_audit("optout.add")) == 3


def test_opted_out_handles_many_addresses(app, backend):
    for n in range(5):
        add_opt_out("sms", f"091234567{n}", source="api", actor=None)
    db.session.commit()
    wanted = [f"+8491{n:07d}" for n in range(2_500)] + ["+84912345673"]
    assert opted_out("sms", iter(wanted)) == {"+84912345673"}


def test_localities_everyone_reads_admins_edit(api, people, backend):
    approver, admin = api.as_(people["approver"]), api.as_(people["admin"])
    listed = approver.get("/api/localities").json
    assert len(listed) == 8 and {p["code"] for p in listed} >= {"vi-thanh", "phung-hiep"}
    assert approver.post("/api/localities", json={"code": "x", "name": "X"}).status_code == 403
    assert api.as_(people["editor"]).post("/api/localities",
                                          json={"code": "x", "name": "X"}).status_code == 403
    made = admin.post("/api/localities", json={"code": "xa-tan-hoa", "name": "Xã Tân Hòa",
                                               "kind": "commune", "parent_code": "chau-thanh-a"})
    assert made.status_code == 201, made.json
    parent = db.session.scalar(select(Locality.id).where(Locality.code == "chau-thanh-a"))
    assert made.json["parent_id"] == parent
    assert admin.post("/api/localities", json={"code": "xa-tan-hoa",
                                               "name": "Y"}).status_code == 409
    bad = admin.post("/api/localities", json={"code": "y", "name": "Y", "kind": "hamlet"})
    assert bad.status_code == 422 and "kind" in bad.json["errors"]
    changed = admin.patch(f"/api/localities/{made.json['id']}", json={"active": False})
    assert changed.json["active"] is False
    assert [p["code"] for p in approver.get("/api/localities",
                                            query_string={"kind": "commune"}).json] == [
        "xa-tan-hoa"]
    assert len(_audit("locality.create")) == 1 and len(_audit("locality.update")) == 1


def test_device_summary(api, people, backend):
    vi_thanh = db.session.scalar(select(Locality.id).where(Locality.code == "vi-thanh"))
    from dispatch.models.common import utcnow

    for n, (platform, locality, off) in enumerate([
        ("android", vi_thanh, False), ("android", vi_thanh, True), ("ios", None, False),
        ("android", None, False),
    ]):
        db.session.add(Device(installation_id=f"i{n}", fcm_token=f"t{n}", platform=platform,
                              locality_id=locality, disabled_reason="unregistered" if off else None,
                              disabled_at=utcnow() if off else None))
    db.session.commit()
    summary = api.as_(people["approver"]).get("/api/devices/summary").json
    assert (summary["total"], summary["active"], summary["disabled"]) == (4, 3, 1)
    assert summary["by_platform"] == [{"platform": "android", "active": 2, "disabled": 1},
                                      {"platform": "ios", "active": 1, "disabled": 0}]
    by_locality = {row["code"]: (row["active"], row["disabled"])
                   for row in summary["by_locality"]}
    assert by_locality == {"vi-thanh": (1, 1), None: (2, 0)}
    assert api.get("/api/devices/summary").status_code == 401
