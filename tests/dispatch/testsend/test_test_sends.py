"""Test sends before approval, end to end: API → ledger → the SMSC and FCM stand-ins.

Two staff on the test list: Chị Lan (a number that is also a contact of the audience, and a
device) and Anh Minh (a number only). The proof is what each stand-in received, and that the
lists, the summary and the per-recipient cap never see the test rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.engine import clock
from dispatch.extensions import db
from dispatch.models import Campaign, Message, MessageText
from scripts.harness import wait_for
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.engine import work
from tests.helpers.factories import upload_import
from tests.helpers.push import AppClient, fcm_token, make_key
from tests.helpers.sms import counts

LAN, MINH = "0961000001", "0961000002"
CITIZENS = ["0961000003", "0961000004", "0961000005"]
TEXT = "Kính gửi {ho_ten}: lịch tiêm phòng tại {xa|địa phương} ngày 5/12."


def e164(number: str) -> str:
    return "84" + number[1:]


def sms_texts(smsc: Any, number: str) -> list[str]:
    """What a phone received: the parts of each message joined, in order."""
    return ["".join(r.text for r in group) for group in _messages(smsc.received(e164(number)))]


def _messages(parts: list[Any]) -> list[list[Any]]:
    by_ref: dict[bytes, list[Any]] = {}
    out: list[list[Any]] = []
    for r in parts:
        if not r.udh:
            out.append([r])
            continue
        ref = r.udh[:-1]
        if ref not in by_ref:
            by_ref[ref] = []
            out.append(by_ref[ref])
        by_ref[ref].append(r)
    return out


def setup(api: Any, people: dict[str, Any], client: Any, port: int) -> dict[str, Any]:
    admin, editor = api.as_(people["admin"]), api.as_(people["editor"])
    r = admin.post("/api/smpp-accounts", json={
        "name": "viettel", "host": "127.0.0.1", "port": port, "system_id": "loa",
        "password": "secret", "tps": 500, "window": 10, "operators": ["viettel"],
        "is_default": True, "brandnames": ["HAUGIANG"]})
    assert r.status_code == 201, r.json
    lst = editor.post("/api/lists", json={"name": "Phường 1"}).json
    body = "\n".join(["so_dien_thoai,ho_ten", f"{LAN},Nguyễn Thị Lan",
                      *(f"{n},Dân {i}" for i, n in enumerate(CITIZENS))]).encode()
    assert upload_import(editor, lst["id"], body, "ds.csv").json["imported_rows"] == 4
    app = AppClient(client, make_key("app"))
    r = app.put("/api/app/devices/fid-lan-aaaaa",
                json={"fcm_token": fcm_token("ok-lan-"), "platform": "android"})
    assert r.status_code == 201, r.json
    lan = admin.post("/api/test-list", json={"name": "Chị Lan", "msisdn": LAN,
                                              "installation_id": "fid-lan-aaaaa"})
    assert lan.status_code == 201, lan.json
    minh = admin.post("/api/test-list", json={"name": "Anh Minh", "msisdn": "+84 961 000 002"})
    assert minh.status_code == 201, minh.json
    assert minh.json["msisdn"] == "+84961000002" and minh.json["operator"] == "viettel"
    return {"list_id": lst["id"], "lan": lan.json["id"], "minh": minh.json["id"]}


def draft(api: Any, people: dict[str, Any], list_id: int, **over: Any) -> int:
    return api_draft(api.as_(people["editor"]), **{
        "title": "Tiêm phòng", "channels": "both", "sms_sender": "HAUGIANG", "sms_text": TEXT,
        "push_title": "Tiêm phòng cho {ho_ten}", "push_body": "Ngày 5/12 tại {xa|địa phương}.",
        "audience": {"lists": [list_id], "all_app_users": True}, **over})


def test_a_draft_sent_to_the_test_list_reaches_each_member_as_rendered_and_never_counts(
        app, api, people, client, smsc, smpp, fcm, backend):
    ids = setup(api, people, client, smsc.port)
    editor = api.as_(people["editor"])
    cid = draft(api, people, ids["list_id"])
    r = editor.post(f"/api/campaigns/{cid}/test-send", json={})
    assert r.status_code == 201, r.json
    assert {(t["member"], t["channels"]) for t in r.json["tests"]} == {
        ("Chị Lan", "both"), ("Anh Minh", "sms")}
    # An impatient second click within the interval sends nothing more.
    again = editor.post(f"/api/campaigns/{cid}/test-send", json={})
    assert again.status_code == 429 and again.json["code"] == "rate_limited", again.json
    work()
    smpp()
    tests = [t["id"] for t in r.json["tests"]]
    assert wait_for(lambda: sum(counts(t).get("delivered", 0) for t in tests) == 2, timeout=30)
    # The member's name for {ho_ten}; the default where nobody has a value.
    assert sms_texts(smsc, LAN) == [
        "Kính gửi Chị Lan: lịch tiêm phòng tại địa phương ngày 5/12."]
    assert sms_texts(smsc, MINH) == [
        "Kính gửi Anh Minh: lịch tiêm phòng tại địa phương ngày 5/12."]
    assert {r.source for r in smsc.received()} == {"HAUGIANG"}
    pushes = fcm.messages()
    assert [(m["notification"]["title"], m["notification"]["body"]) for m in pushes] == [
        ("Tiêm phòng cho Chị Lan", "Ngày 5/12 tại địa phương.")]
    # The ledger: rows of test children of the draft, nothing of the draft itself.
    db.session.expire_all()
    rows = db.session.execute(select(Message.campaign_id, Message.channel, Campaign.kind,
                                     Campaign.parent_id)
                              .join(Campaign, Campaign.id == Message.campaign_id)).all()
    assert sorted((ch, kind, parent) for _, ch, kind, parent in rows) == [
        ("push", "test", cid), ("sms", "test", cid), ("sms", "test", cid)]
    assert db.session.scalar(select(MessageText.message_id).limit(1)) is None  # rendered once
    clock.tick(app.config)
    db.session.expire_all()
    assert {db.session.get(Campaign, t).status.value for t in tests} == {"completed"}
    # Never in the campaign lists, the summary or the dashboard.
    listed = editor.get("/api/campaigns?per_page=100").json
    assert [c["id"] for c in listed["items"]] == [cid]
    summary = editor.get("/api/reports/summary").json
    assert summary["campaigns"] == [] and summary["total"]["targeted"] == 0, summary
    tested = editor.get(f"/api/campaigns/{cid}/tests").json
    assert tested["tested"] is True and tested["by_id"] == people["editor"].id
    assert [m["name"] for m in tested["members"]] == ["Chị Lan", "Anh Minh"]
    assert tested["members"][0]["outcomes"] == ["push:submitted", "sms:delivered"]

    # The cap: one campaign per number a day. The test rows (recipient ids that are also
    # contact ids) are no campaign of anyone's: the real one reaches all four.
    admin = api.as_(people["admin"])
    assert admin.put("/api/settings/recipient_cap",
                     json={"value": {"max_campaigns": 1, "hours": 24}}).status_code == 200
    contacts = set(db.session.scalars(select(Message.recipient_id).where(
        Message.campaign_id.in_(tests), Message.channel == "sms")))
    assert contacts & set(range(1, 5)), contacts  # the ids overlap: the filter matters
    api_launch(editor, api.as_(people["approver"]), cid)
    work()
    assert wait_for(lambda: counts(cid).get("delivered", 0) == 4, timeout=30), counts(cid)
    assert counts(cid).get("suppressed", 0) == 0
    summary = editor.get("/api/reports/summary").json
    assert [c["id"] for c in summary["campaigns"]] == [cid]
    # Four SMS and the one device, the campaign's own: the test rows are not in the figures.
    assert summary["total"]["targeted"] == 5, summary["total"]


def test_one_member_a_refusal_naming_the_field_and_the_approval_page_line(
        app, api, people, client, smsc, fcm, backend):
    ids = setup(api, people, client, smsc.port)
    editor = api.as_(people["editor"])
    cid = draft(api, people, ids["list_id"], channels="sms",
                audience={"lists": [ids["list_id"]]})
    r = editor.post(f"/api/campaigns/{cid}/test-send", json={"member_id": ids["minh"]})
    assert r.status_code == 201 and [t["member"] for t in r.json["tests"]] == ["Anh Minh"]
    (row,) = db.session.execute(select(Message.address, Message.status).join(
        Campaign, Campaign.id == Message.campaign_id).where(Campaign.parent_id == cid)).all()
    assert row[0] == "+84961000002"
    for body, field in (({"member_id": 999}, "member_id"), ({"member_id": "1x"}, "member_id"),
                        ({"member": 1}, "member")):
        bad = editor.post(f"/api/campaigns/{cid}/test-send", json=body)
        assert bad.status_code in (404, 422) and field in bad.json["errors"], bad.json
    # The version tested, then an edit: the current version was not tested.
    assert editor.get(f"/api/campaigns/{cid}/tests").json["tested"] is True
    r = editor.patch(f"/api/campaigns/{cid}", json={"sms_text": TEXT + " Mang theo CCCD."})
    assert r.status_code == 200, r.json
    now = editor.get(f"/api/campaigns/{cid}/tests").json
    assert now["tested"] is False and now["ever"] is True and now["version"] == 1
    # Only editors send tests; after approval there is nothing to test.
    approver = api.as_(people["approver"])
    assert approver.post(f"/api/campaigns/{cid}/test-send", json={}).status_code == 403
    api_launch(editor, approver, cid)
    late = editor.post(f"/api/campaigns/{cid}/test-send", json={})
    assert late.status_code == 409 and late.json["code"] == "test_after_approval"


def test_a_test_send_tells_no_webhook(app, api, people, client, smsc, smpp, fcm, receiver,
                                      backend):
    from dispatch.hooks import events
    from dispatch.models import HookEvent
    from tests.dispatch.hooks.test_delivery import make_hook

    events.forget()
    make_hook(receiver.url, (events.MESSAGE_DELIVERED, events.CAMPAIGN_COMPLETED))
    ids = setup(api, people, client, smsc.port)
    cid = draft(api, people, ids["list_id"], channels="sms",
                audience={"lists": [ids["list_id"]]})
    r = api.as_(people["editor"]).post(f"/api/campaigns/{cid}/test-send",
                                       json={"member_id": ids["minh"]})
    assert r.status_code == 201, r.json
    (test,) = [t["id"] for t in r.json["tests"]]
    smpp()
    assert wait_for(lambda: counts(test).get("delivered", 0) == 1, timeout=30)
    assert clock.tick(app.config).get("completed") == 1
    db.session.expire_all()
    assert db.session.scalars(select(HookEvent)).all() == []
