"""The test list page and API refuse hostile input naming the field; the "send test" button on
the campaign page and the composer; the approval page says whether this version was tested."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, Device, TestMember
from tests.helpers import web as helpers
from tests.helpers.engine import freeze_now


def _device(installation: str) -> None:
    db.session.add(Device(installation_id=installation, fcm_token=f"tok-{installation}",
                          platform="android"))
    db.session.commit()


def test_the_test_list_page_adds_members_and_refuses_hostile_input(
        backend: str, app: Any, people: dict[str, Any], as_role: Any) -> None:
    _device("fid-staff-0001")
    admin = as_role("admin")
    page = admin.get("/admin/test-list").get_data(as_text=True)
    assert "Danh sách thử" in page and 'id="add-test-member"' in page
    r = admin.post("/admin/test-list", {"name": "Chị Lan", "msisdn": "0912 345 678",
                                        "installation_id": "fid-staff-0001"})
    assert r.status_code == 302, r.get_data(as_text=True)
    hostile = {
        # Excel turned the number into a float and then into scientific notation.
        "8.49123E+11": ("msisdn", "số điện thoại có chữ"),
        "0912abc345": ("msisdn", "số điện thoại có chữ"),
        "912345678.0": ("msisdn", None),
        "0912 345 678": ("msisdn", "Đã có trong danh sách thử."),
    }
    for number, (field, words) in hostile.items():
        r = admin.post("/admin/test-list", {"name": "Ai đó", "msisdn": number})
        body = r.get_data(as_text=True)
        assert r.status_code == 422, (number, r.status_code)
        assert f'id="{field}-error"' in body, number
        if words:
            assert words in body, (number, body[body.find("error"):][:400])
    r = admin.post("/admin/test-list", {"name": "", "msisdn": "0912345679"})
    assert r.status_code == 422 and "Nhập tên." in r.get_data(as_text=True)
    r = admin.post("/admin/test-list", {"name": "Không gì"})
    assert r.status_code == 422 and 'id="msisdn-error"' in r.get_data(as_text=True)
    r = admin.post("/admin/test-list", {"name": "Máy lạ", "installation_id": "fid-unknown"})
    assert r.status_code == 422 and 'id="installation_id-error"' in r.get_data(as_text=True)
    for i in range(19):
        r = admin.post("/admin/test-list", {"name": f"Cán bộ {i}",
                                            "msisdn": f"09610000{i:02d}"})
        assert r.status_code == 302, (i, r.get_data(as_text=True)[:500])
    r = admin.post("/admin/test-list", {"name": "Thứ 21", "msisdn": "0961000099"})
    assert r.status_code == 422 and "tối đa 20 thành viên" in r.get_data(as_text=True)
    assert db.session.scalar(select(TestMember).where(TestMember.name == "Thứ 21")) is None
    assert len(db.session.scalars(select(TestMember)).all()) == 20
    member = db.session.scalars(select(TestMember).order_by(TestMember.id)).first()
    assert member is not None and member.msisdn == "+84912345678"
    assert admin.post(f"/admin/test-list/{member.id}/delete").status_code == 302
    actions = [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "test_member"))]
    assert actions.count("test_member.create") == 20 and "test_member.delete" in actions
    # Editors may not keep the list.
    assert as_role("editor").get("/admin/test-list").status_code == 403


def test_the_test_list_api_refuses_hostile_input_with_codes(
        backend: str, app: Any, api: Any, people: dict[str, Any]) -> None:
    admin = api.as_(people["admin"])
    ok = admin.post("/api/test-list", json={"name": "Anh Minh", "msisdn": "+84961000002"})
    assert ok.status_code == 201, ok.json
    cases = [
        ({"name": "X", "msisdn": 961000003}, 422, "msisdn"),  # a number, not the text written
        ({"name": "X", "msisdn": "8.49123E+11"}, 422, "msisdn"),
        ({"name": "X", "msisdn": "096100000\u0663"}, 422, "msisdn"),  # an Arabic-Indic digit
        ({"name": "X", "msisdn": "0961000002"}, 409, "msisdn"),  # a duplicate, written otherwise
        ({"name": "X\x00", "msisdn": "0961000004"}, 422, "name"),
        ({"name": "x" * 121, "msisdn": "0961000004"}, 422, "name"),
        ({"msisdn": "0961000004"}, 422, "name"),
        ({"name": "X"}, 422, "msisdn"),
        ({"name": "X", "installation_id": "fid-nobody"}, 422, "installation_id"),
        ({"name": "X", "msisdn": "0961000004", "role": "admin"}, 422, "role"),
    ]
    for body, status, field in cases:
        r = admin.post("/api/test-list", json=body)
        assert r.status_code == status and field in r.json.get("errors", {}), (body, r.json)
    for i in range(19):
        r = admin.post("/api/test-list", json={"name": f"N{i}", "msisdn": f"09710000{i:02d}"})
        assert r.status_code == 201, r.json
    full = admin.post("/api/test-list", json={"name": "21", "msisdn": "0971000099"})
    assert full.status_code == 409 and full.json["code"] == "test_list_full"
    r = admin.patch(f"/api/test-list/{ok.json['id']}", json={"msisdn": "0971000001"})
    assert r.status_code == 409 and "msisdn" in r.json["errors"]
    assert admin.delete("/api/test-list/999999").status_code == 404
    editor = api.as_(people["editor"])
    assert editor.get("/api/test-list").status_code == 200
    assert editor.post("/api/test-list", json={"name": "Y", "msisdn": "0981000001"}
                       ).status_code == 403


def test_send_test_from_the_campaign_page_and_the_approval_pages_tested_line(
        backend: str, app: Any, people: dict[str, Any], as_role: Any, redis: Any) -> None:
    admin, editor, approver = as_role("admin"), as_role("editor"), as_role("approver")
    assert admin.post("/admin/test-list", {"name": "Chị Lan", "msisdn": "0912345678"}
                      ).status_code == 302
    lst = helpers.contact_list(numbers=2)
    c = helpers.campaign(people["editor"], lst, sms_text="Kính gửi {ho_ten|ông/bà}: họp lúc 8h.")
    page = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="test-send-button"' in page and "Gửi thử" in page
    assert 'data-tested="never"' in page and "Chiến dịch này chưa được gửi thử." in page
    composer = editor.get(f"/campaigns/{c.id}/edit").get_data(as_text=True)
    assert 'id="test-send-button"' in composer
    r = editor.post(f"/campaigns/{c.id}/test-send", {"member_id": "",
                                                    "next": f"/campaigns/{c.id}/edit"})
    assert r.status_code == 302 and r.headers["Location"] == f"/campaigns/{c.id}/edit"
    after = editor.get(f"/campaigns/{c.id}/edit").get_data(as_text=True)
    assert "Đã gửi thử tới Chị Lan" in after and 'data-tested="yes"' in after
    test = db.session.scalars(select(Campaign).where(Campaign.parent_id == c.id)).one()
    assert test.kind == "test" and test.sms_text == "Kính gửi Chị Lan: họp lúc 8h."
    # A second click at once: nothing more is sent, and the page says why.
    r = editor.post(f"/campaigns/{c.id}/test-send", {"member_id": ""})
    assert r.status_code == 302
    assert "vừa được gửi thử" in editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert len(db.session.scalars(select(Campaign).where(Campaign.parent_id == c.id)).all()) == 1
    # Hostile choices are refused on the page, never a 5xx.
    for value in ("abc", "1e3", "99999999999", "-1"):
        assert editor.post(f"/campaigns/{c.id}/test-send", {"member_id": value}
                           ).status_code == 302
    assert editor.post(f"/campaigns/{c.id}").status_code == 405
    assert approver.post(f"/campaigns/{c.id}/test-send", {}).status_code == 403
    # Submitted as tested: the approval page says so, with who and when.
    assert editor.post(f"/campaigns/{c.id}/submit").status_code == 302
    assert freeze_now(c.id) == "frozen"
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert 'data-approval-tested' in review and 'data-tested="yes"' in review
    assert "đã được gửi thử lúc" in review
    # An edit after the test: the version now awaiting approval was not tested.
    r = editor.post(f"/campaigns/{c.id}/edit", {
        "title": c.title, "channels": "sms", "sms_sender": "HAUGIANG",
        "sms_text": "Kính gửi {ho_ten|ông/bà}: họp lúc 9h.", "lists": str(lst.id),
        "window_start": "07:00", "window_end": "22:00", "validity_hours": "24",
        "priority": "normal", "intent": "submit"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert freeze_now(c.id) == "frozen"
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert 'data-tested="no"' in review and "chưa được gửi thử" in review
    # Tests are in no list.
    listing = editor.get("/campaigns").get_data(as_text=True)
    assert f'/campaigns/{test.id}"' not in listing and f'/campaigns/{c.id}"' in listing
