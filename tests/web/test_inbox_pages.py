"""The inbox pages: filters, the reply's page, bulk changes, labels, masking, audit, exports."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent
from dispatch.models.replies import Reply
from tests.helpers.engine import work
from tests.helpers.replies import labels, place, reply, survey

FULL = re.compile(r"\+84\d{9}|0\d{3}\s?\d{3}\s?\d{3}")


def shown_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/inbox/(\d+)"', html)}


def unmask_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "reply.unmask")))


def test_a_clerk_filters_the_inbox_and_never_sees_a_full_number(
        backend: str, as_role: Any, people: dict[str, Any]) -> None:
    a, b = survey(people["editor"]), survey(people["editor"], "Khảo sát khác")
    here = reply("Đồng ý với dự thảo", campaign=a, msisdn="+84912345678")
    elsewhere = reply("Ở Ngã Bảy", campaign=a, locality="nga-bay", msisdn="+84987654321")
    other = reply("Chiến dịch khác", campaign=b, msisdn="+84911222333")
    editor = as_role("editor")
    page = editor.get("/inbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/inbox"' in html and "Hộp thư phản hồi" in html  # in the menu
    assert shown_ids(html) == {here.id, elsewhere.id, other.id}
    assert "0912 *** 678" in html and not FULL.search(html)
    narrowed = editor.get(f"/inbox?campaign_id={a.id}&locality_id={place('vi-thanh').id}"
                          ).get_data(as_text=True)
    assert shown_ids(narrowed) == {here.id}
    assert shown_ids(editor.get("/inbox?q=DONG+Y").get_data(as_text=True)) == {here.id}
    detail = editor.get(f"/inbox/{here.id}").get_data(as_text=True)
    assert "Đồng ý với dự thảo" in detail and not FULL.search(detail)
    assert "Xem số" not in detail  # no right to see it
    assert editor.post(f"/inbox/{here.id}/number").status_code == 403
    assert unmask_events() == []


def test_an_admin_sees_a_number_only_on_request_and_each_view_is_audited(
        backend: str, as_role: Any, people: dict[str, Any]) -> None:
    r = reply("Xin hỏi", msisdn="+84912345678")
    admin = as_role("admin")
    first = admin.get(f"/inbox/{r.id}").get_data(as_text=True)
    assert "Xem số" in first and "0912 345 678" not in first
    assert unmask_events() == []
    for n in (1, 2):
        shown = admin.post(f"/inbox/{r.id}/number").get_data(as_text=True)
        assert "0912 345 678" in shown
        events = unmask_events()
        assert len(events) == n
        assert (events[-1].entity, events[-1].entity_id, events[-1].actor_id) == (
            "reply", str(r.id), people["admin"].id)
    assert "0912 345 678" not in admin.get(f"/inbox/{r.id}").get_data(as_text=True)
    assert len(unmask_events()) == 2


def test_a_clerk_labels_handles_assigns_and_notes_a_reply(
        backend: str, as_role: Any, people: dict[str, Any]) -> None:
    tags = labels()
    r = reply("Đề nghị sửa đường")
    editor = as_role("editor")
    done = editor.post(f"/inbox/{r.id}", {
        "label_id": tags["Phản ánh"].id, "state": "handled",
        "assigned_to_id": people["editor2"].id, "note": "Chuyển phòng Kinh tế"})
    assert done.status_code == 302
    db.session.expire_all()
    row = db.session.get(Reply, r.id)
    assert (row.label_id, row.state, row.assigned_to_id, row.note) == (
        tags["Phản ánh"].id, "handled", people["editor2"].id, "Chuyển phòng Kinh tế")
    assert row.handled_by_id == people["editor"].id and row.handled_at is not None
    page = editor.get(f"/inbox/{r.id}").get_data(as_text=True)
    assert "Phản ánh" in page and "Đã xử lý" in page
    bad = editor.post(f"/inbox/{r.id}", {"label_id": "987654", "state": "new"})
    assert bad.status_code == 422 and "Không có nhãn đang dùng này" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Reply, r.id).state == "handled"  # nothing half-written


def test_bulk_on_the_page(backend: str, as_role: Any, people: dict[str, Any]) -> None:
    tags = labels()
    a = survey(people["editor"])
    rows = [reply(f"Ý kiến {n}", campaign=a) for n in range(3)]
    alone = reply("Không thuộc chiến dịch")
    editor = as_role("editor")
    editor.post("/inbox/bulk", {"ids": [rows[0].id, rows[1].id], "label_id": tags["Khác"].id,
                                "target": "selected"})
    editor.post("/inbox/bulk", {"f_campaign_id": a.id, "state": "handled",
                                "target": "matching"})
    db.session.expire_all()
    got = {r.id: r for r in db.session.scalars(select(Reply))}
    assert [got[r.id].label_id for r in rows] == [tags["Khác"].id, tags["Khác"].id, None]
    assert all(got[r.id].state == "handled" for r in rows) and got[alone.id].state == "new"
    refused = editor.post("/inbox/bulk", {"ids": [str(rows[0].id), "987654"],
                                          "state": "new", "target": "selected"})
    assert refused.status_code == 302
    page = editor.get("/inbox").get_data(as_text=True)
    assert ("Không thay đổi hàng loạt được (Các phản hồi đã chọn): Một số phản hồi này không "
            "tồn tại") in page
    nothing = editor.post("/inbox/bulk", {"state": "new", "target": "selected"})
    assert nothing.status_code == 302
    assert "(Các phản hồi đã chọn): Hãy chọn ít nhất một phản hồi" in editor.get(
        "/inbox").get_data(as_text=True)


def test_hostile_filters_on_the_page_name_the_field(as_role: Any,
                                                    people: dict[str, Any]) -> None:
    reply("Xin chào")
    editor = as_role("editor")
    for query, words in (("since=2025-99-01", "Từ"),
                         ("campaign_id=987654", "Chiến dịch"),
                         ("campaign_id=1&campaign_id=2", "Chiến dịch"),
                         ("locality_id=x", "Địa bàn"), ("q=%00", "q: ")):
        response = editor.get(f"/inbox?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 422, query
        # The error summary (or, for a NUL the app refuses before any page, the error page).
        summary = html.split('id="error-summary"', 1)[-1].split("</div>", 1)[0]
        assert words in (summary if "error-summary" in html else html), query
        assert shown_ids(html) == set(), query  # a bad filter shows nothing, not everything


def test_labels_page_for_admins(backend: str, as_role: Any, people: dict[str, Any]) -> None:
    tags = labels()
    admin = as_role("admin")
    assert admin.post("/inbox/labels", {"name": "Kiến nghị"}).status_code == 302
    assert "Kiến nghị" in admin.get("/inbox/labels").get_data(as_text=True)
    twin = admin.post("/inbox/labels", {"name": "KIẾN NGHỊ"})
    assert twin.status_code == 422 and "Đã có nhãn mang tên này" in twin.get_data(as_text=True)
    khac = tags["Khác"].id
    admin.post(f"/inbox/labels/{khac}", {"name": "Khác (chưa phân loại)"})
    admin.post(f"/inbox/labels/{khac}", {"active": "0"})
    db.session.expire_all()
    assert (tags["Khác"].name, tags["Khác"].active) == ("Khác (chưa phân loại)", False)
    for role in ("editor", "approver"):
        caller = as_role(role)
        assert caller.get("/inbox/labels").status_code == 200
        assert caller.post("/inbox/labels", {"name": "X"}).status_code == 403
        assert caller.post(f"/inbox/labels/{khac}", {"active": "1"}).status_code == 403
    # A deactivated label is not offered on a reply any more.
    r = reply("Câu hỏi")
    assert "Khác (chưa phân loại)" not in as_role("editor").get(f"/inbox/{r.id}").get_data(
        as_text=True)


def test_exports_run_in_a_job_masked_unless_asked_by_an_admin(
        backend: str, as_role: Any, people: dict[str, Any], redis: Any) -> None:
    a = survey(people["editor"])
    reply("Đồng ý", campaign=a, msisdn="+84912345678")
    reply("=HYPERLINK(\"x\")", campaign=a, msisdn="+84987654321")
    reply("Không thuộc", msisdn="+84911222333")
    editor = as_role("editor")
    asked = editor.post("/inbox/export", {"format": "csv", "f_campaign_id": a.id})
    assert asked.status_code == 302
    assert "đang được ghi" in editor.get("/inbox/exports").get_data(as_text=True)
    work(["low"])
    page = editor.get("/inbox/exports").get_data(as_text=True)
    link = re.search(r'href="(/inbox/exports/[^"]+\.csv)"', page)
    assert link, page
    body = editor.get(link.group(1)).get_data().decode("utf-8-sig")
    assert "0912 *** 678" in body and "Đồng ý" in body and "Không thuộc" not in body
    assert not FULL.search(body)
    assert "'=HYPERLINK" in body  # never run as a formula
    # An editor cannot ask for numbers, nor fetch another person's file.
    assert editor.post("/inbox/export", {"format": "csv", "unmask": "1"}).status_code == 403
    assert as_role("editor2").get(link.group(1)).status_code == 404
    assert unmask_events() == []
    admin = as_role("admin")
    admin.post("/inbox/export", {"format": "xlsx", "unmask": "1", "f_campaign_id": a.id})
    work(["low"])
    link = re.search(r'href="(/inbox/exports/[^"]+\.xlsx)"',
                     admin.get("/inbox/exports").get_data(as_text=True))
    assert link
    book = load_workbook(io.BytesIO(admin.get(link.group(1)).get_data()), read_only=True)
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert "0912 345 678" in cells and "Đồng ý" in cells
    events = unmask_events()
    assert len(events) == 1 and events[0].details["export"] == "replies"
    bad = admin.post("/inbox/export", {"format": "pdf"})
    assert bad.status_code == 302
    assert "Định dạng" in admin.get("/inbox").get_data(as_text=True)
