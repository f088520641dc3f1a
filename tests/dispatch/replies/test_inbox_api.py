"""The inbox's API: filters, search without diacritics, labels, changes, bulk, masking, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent
from dispatch.models.replies import Reply
from dispatch.replies import inbox
from tests.helpers.replies import NOON, labels, place, reply, survey


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def refused(response: Any, field: str, status: int = 422) -> None:
    assert response.status_code == status, (response.status_code, response.json)
    assert field in response.json["errors"], response.json


def test_each_filter_narrows_the_list(backend: str, api: Any, people: dict[str, Any]) -> None:
    editor = api.as_(people["editor"])
    tags = labels()
    a, b = survey(people["editor"]), survey(people["editor"], "Khảo sát dịch vụ công")
    base = reply("Đồng ý", campaign=a, kind="answer")
    other_campaign = reply("Tôi góp ý", campaign=b)
    other_place = reply("Ở Ngã Bảy", campaign=a, locality="nga-bay")
    other_operator = reply("Mạng khác", campaign=a, operator="vinaphone")
    earlier = reply("Hôm trước", campaign=a, at=NOON - timedelta(days=2))
    labelled = reply("Phản ánh đường hư", campaign=a, label_id=tags["Phản ánh"].id)
    handled = reply("Đã xử lý", campaign=a, state="handled")
    assigned = reply("Giao cho cán bộ", campaign=a, assigned_to_id=people["editor2"].id)
    stranger = reply("Ai đây?", kind="stranger")
    everyone = {r.id for r in (base, other_campaign, other_place, other_operator, earlier,
                               labelled, handled, assigned, stranger)}
    assert ids(editor.get("/api/replies")) == everyone
    in_a = everyone - {other_campaign.id, stranger.id}
    day = (NOON + timedelta(hours=7)).date().isoformat()
    cases = {
        f"campaign_id={a.id}": in_a,
        f"locality_id={place('nga-bay').id}": {other_place.id},
        "operator=vinaphone": {other_operator.id},
        f"since={day}": everyone - {earlier.id},
        f"until={(NOON - timedelta(days=2)).date().isoformat()}": {earlier.id},
        f"label_id={tags['Phản ánh'].id}": {labelled.id},
        "state=handled": {handled.id},
        "state=new": everyone - {handled.id},
        "kind=answer": {base.id},
        "kind=stranger": {stranger.id},
        f"assigned_to_id={people['editor2'].id}": {assigned.id},
        f"campaign_id={a.id}&operator=vinaphone": {other_operator.id},
    }
    for query, expected in cases.items():
        assert ids(editor.get(f"/api/replies?{query}")) == expected, query
    # Newest first, paged.
    listed = editor.get("/api/replies?per_page=2").json
    assert listed["total"] == len(everyone) and len(listed["items"]) == 2
    assert listed["items"][0]["received_at"] >= listed["items"][1]["received_at"]
    assert earlier.id not in {i["id"] for i in listed["items"]}


@pytest.mark.parametrize("query", ["dong y", "ĐỒNG Ý", "Dong  Y", "đồng ý", "ong y"])
def test_search_ignores_case_and_diacritics(api: Any, people: dict[str, Any],
                                            query: str) -> None:
    yes = reply("Đồng ý với dự thảo")
    plain = reply("dong y, cam on")
    reply("Không đồng tình")
    reply("100% đồng_ý")  # a LIKE wildcard in the text is only text
    found = ids(api.as_(people["editor"]).get("/api/replies", query_string={"q": query}))
    assert found == {yes.id, plain.id}


def test_wildcards_in_a_search_are_literal(api: Any, people: dict[str, Any]) -> None:
    percent = reply("Tăng 100% học phí")
    reply("Tăng 1000 đồng")
    assert ids(api.as_(people["editor"]).get("/api/replies?q=100%25")) == {percent.id}
    assert ids(api.as_(people["editor"]).get("/api/replies?q=_")) == set()


def test_labels_are_edited_by_admins_only(backend: str, api: Any,
                                          people: dict[str, Any]) -> None:
    admin = api.as_(people["admin"])
    created = admin.post("/api/reply-labels", json={"name": "Kiến nghị"})
    assert created.status_code == 201, created.json
    label_id = created.json["id"]
    for role in ("editor", "approver"):
        caller = api.as_(people[role])
        assert caller.post("/api/reply-labels", json={"name": "X"}).status_code == 403
        assert caller.patch(f"/api/reply-labels/{label_id}",
                            json={"active": False}).status_code == 403
        assert caller.get("/api/reply-labels").status_code == 200
    refused(admin.post("/api/reply-labels", json={"name": "kiến NGHỊ"}), "name", 409)
    refused(admin.post("/api/reply-labels", json={"name": ""}), "name")
    renamed = admin.patch(f"/api/reply-labels/{label_id}", json={"name": "Kiến nghị, đề xuất"})
    assert renamed.json["name"] == "Kiến nghị, đề xuất"
    r = reply("Đề nghị sửa cầu")
    editor = api.as_(people["editor"])
    assert editor.patch(f"/api/replies/{r.id}", json={"label_id": label_id}).status_code == 200
    assert admin.patch(f"/api/reply-labels/{label_id}",
                       json={"active": False}).json["active"] is False
    # A deactivated label stays on the replies that have it, and cannot be put on others.
    assert editor.get(f"/api/replies/{r.id}").json["label_id"] == label_id
    refused(editor.patch(f"/api/replies/{reply('Khác').id}", json={"label_id": label_id}),
            "label_id")
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"reply_label.create", "reply_label.update"} <= actions


def test_handle_assign_and_note_one_reply(api: Any, people: dict[str, Any]) -> None:
    r = reply("Xin hỏi lịch tiếp công dân")
    editor = api.as_(people["editor"])
    done = editor.patch(f"/api/replies/{r.id}", json={
        "state": "handled", "assigned_to_id": people["editor2"].id,
        "note": "Đã gọi lại cho người dân"})
    assert done.status_code == 200, done.json
    assert done.json["state"] == "handled"
    assert done.json["handled_by_id"] == people["editor"].id
    assert done.json["handled_at"] is not None
    assert done.json["assigned_to_id"] == people["editor2"].id
    assert done.json["note"] == "Đã gọi lại cho người dân"
    # Handled again by someone else: who handled it first stays.
    api.as_(people["admin"]).patch(f"/api/replies/{r.id}", json={"state": "handled"})
    assert editor.get(f"/api/replies/{r.id}").json["handled_by_id"] == people["editor"].id
    reopened = editor.patch(f"/api/replies/{r.id}", json={"state": "new"}).json
    assert (reopened["state"], reopened["handled_by_id"]) == ("new", None)
    refused(editor.patch(f"/api/replies/{r.id}", json={"state": "done"}), "state")
    refused(editor.patch(f"/api/replies/{r.id}", json={"assigned_to_id": 987654}),
            "assigned_to_id")
    refused(editor.patch(f"/api/replies/{r.id}", json={}), "_")
    assert editor.patch("/api/replies/987654", json={"state": "new"}).status_code == 404


def test_bulk_on_chosen_replies_and_on_a_filter(backend: str, api: Any,
                                                people: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    tags = labels()
    a = survey(people["editor"])
    chosen = [reply(f"Ý kiến {n}", campaign=a) for n in range(3)]
    first = reply("Đã xử lý trước", campaign=a, state="handled",
                  handled_by_id=people["admin"].id, handled_at=NOON)
    outside = reply("Không thuộc chiến dịch")
    editor = api.as_(people["editor"])
    response = editor.post("/api/replies/bulk", json={
        "ids": [r.id for r in chosen[:2]], "label_id": tags["Hỏi đáp"].id})
    assert response.status_code == 200, response.json
    assert response.json["changed"] == 2
    assert ids(editor.get(f"/api/replies?label_id={tags['Hỏi đáp'].id}")) == {
        chosen[0].id, chosen[1].id}
    response = editor.post("/api/replies/bulk", json={
        "filter": {"campaign_id": a.id}, "state": "handled",
        "assigned_to_id": people["editor2"].id})
    assert response.json["changed"] == 4, response.json
    rows = {r.id: r for r in db.session.scalars(select(Reply))}
    assert all(rows[r.id].state == "handled" for r in [*chosen, first])
    assert rows[first.id].handled_by_id == people["admin"].id  # kept
    assert rows[chosen[2].id].handled_by_id == people["editor"].id
    assert rows[outside.id].state == "new" and rows[outside.id].assigned_to_id is None
    assert all(rows[r.id].assigned_to_id == people["editor2"].id for r in chosen)
    # Changing the column filtered on changes every row that matched, and only those.
    reopened = editor.post("/api/replies/bulk", json={
        "filter": {"state": "handled", "campaign_id": a.id}, "state": "new",
        "label_id": tags["Phản ánh"].id}).json
    assert reopened["changed"] == 4
    assert ids(editor.get(f"/api/replies?label_id={tags['Phản ánh'].id}&state=new")) == {
        *(r.id for r in chosen), first.id}
    editor.post("/api/replies/bulk", json={"filter": {"campaign_id": a.id}, "state": "handled"})
    # Refusals name the field and change nothing.
    refused(editor.post("/api/replies/bulk", json={"ids": list(range(1, 10_001)),
                                                   "state": "new"}), "ids")
    refused(editor.post("/api/replies/bulk", json={"ids": [chosen[0].id, 987654],
                                                   "state": "new"}), "ids")
    refused(editor.post("/api/replies/bulk", json={"ids": [chosen[0].id]}), "_")
    refused(editor.post("/api/replies/bulk", json={"ids": [1], "filter": {},
                                                   "state": "new"}), "ids")
    refused(editor.post("/api/replies/bulk", json={"filter": {"since": "hôm qua"},
                                                   "state": "new"}), "filter.since")
    monkeypatch.setattr(inbox, "BULK_MAX", 3)
    refused(editor.post("/api/replies/bulk", json={"filter": {}, "state": "new"}), "filter")
    db.session.expire_all()
    assert db.session.get(Reply, chosen[0].id).state == "handled"
    assert "reply.bulk" in set(db.session.scalars(select(AuditEvent.action)))


def test_numbers_are_masked_unless_asked_for_and_permitted(backend: str, api: Any,
                                                           people: dict[str, Any]) -> None:
    rows = [reply("Cảm ơn", msisdn=f"+8491234567{n}") for n in range(3)]
    for role in ("editor", "approver", "admin"):
        body = api.as_(people[role]).get("/api/replies").get_data(as_text=True)
        assert "+8491234567" not in body and "0912345670" not in body, role
        assert "0912 *** 670" in body
    single = api.as_(people["editor"]).get(f"/api/replies/{rows[0].id}").json
    assert (single["msisdn"], single["masked"]) == ("0912 *** 670", True)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "reply.unmask")) is None
    for role in ("editor", "approver"):
        assert api.as_(people[role]).get("/api/replies?unmask=1").status_code == 403
        assert api.as_(people[role]).get(f"/api/replies/{rows[0].id}?unmask=1"
                                         ).status_code == 403
    admin = api.as_(people["admin"])
    shown = admin.get("/api/replies?unmask=1&per_page=2").json["items"]
    assert {i["msisdn"] for i in shown} == {"+84912345672", "+84912345671"}
    assert all(i["masked"] is False for i in shown)
    admin.get(f"/api/replies/{rows[0].id}?unmask=1")
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "reply.unmask")).all()
    assert sorted(e.entity_id for e in events) == sorted(
        [str(rows[2].id), str(rows[1].id), str(rows[0].id)])
    assert {e.actor_id for e in events} == {people["admin"].id}
    assert all("+84" not in str(e.details) for e in events)  # the log keeps no number


@pytest.mark.parametrize("query, field", [
    ("since=2025-13-40", "since"), ("until=hôm-nay", "until"),
    ("since=2025-03-10&until=2025-03-01", "until"),
    ("campaign_id=987654", "campaign_id"), ("locality_id=987654", "locality_id"),
    ("label_id=987654", "label_id"), ("assigned_to_id=987654", "assigned_to_id"),
    ("campaign_id=1&campaign_id=2", "campaign_id"), ("operator=viettel&operator=other",
                                                     "operator"),
    ("campaign_id=abc", "campaign_id"), ("campaign_id=99999999999", "campaign_id"),
    ("operator=sfone", "operator"), ("kind=spam", "kind"), ("state=open", "state"),
    ("q=%00", "q"), ("per_page=10000", "per_page"), ("stauts=new", "stauts"),
    ("unmask=perhaps", "unmask"),
])
def test_hostile_filters_are_refused_naming_the_field(api: Any, people: dict[str, Any],
                                                      query: str, field: str) -> None:
    reply("Xin chào")
    refused(api.as_(people["editor"]).get(f"/api/replies?{query}"), field)
