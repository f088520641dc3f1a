"""The strategy on the pages: chosen in the composer, shown with its figures and saving on the
approval page, and in the report: which channel reached each person."""

from __future__ import annotations

import re
from typing import Any

from dispatch.extensions import db
from dispatch.models import Campaign, Device, User
from dispatch.models.common import utcnow
from dispatch.sms import accounts as smpp_accounts
from tests.helpers import web as helpers
from tests.helpers.engine import freeze_now, work
from tests.helpers.push import fcm_token


def cells(html: str, attribute: str, name: str) -> list[str]:
    found = re.search(rf'<tr {attribute}="{name}">(.*?)</tr>', html, re.S)
    assert found, name
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_the_approver_sees_each_channel_and_the_saving_then_the_report_who_got_what(
        backend: str, as_role: Any, redis: Any, people: dict[str, User]) -> None:
    smpp_accounts.create(
        {"name": "viettel", "host": "127.0.0.1", "port": 2775, "system_id": "loa",
         "password": "pw", "operators": ["viettel"], "brandnames": ["HAUGIANG"]}, actor=None)
    lst = helpers.contact_list(numbers=5)
    for i in range(2):  # two of the five numbers have a verified device, a third a claimed one
        db.session.add(Device(installation_id=f"inst-page-{i}", fcm_token=fcm_token(),
                              platform="android", topics=[], msisdn=f"+8491234{i:04d}",
                              msisdn_verified_at=utcnow()))
    db.session.add(Device(installation_id="inst-page-claim", fcm_token=fcm_token(),
                          platform="android", topics=[], msisdn="+84912340002"))
    db.session.commit()

    editor = as_role("editor")
    form = editor.get("/campaigns/new").get_data(as_text=True)
    assert 'name="strategy" value="app_first"' in form and "Chiến lược kênh" in form
    saved = editor.post("/campaigns/new", {
        "title": "Cắt điện", "channels": "both", "sms_sender": "HAUGIANG",
        "sms_text": helpers.SMS_TEXT, "push_title": "Cắt điện", "push_body": "Ngày 5/12.",
        "lists": str(lst.id), "all_app_users": "on", "strategy": "app_first",
        "window_start": "00:00", "window_end": "23:59", "validity_hours": "24",
        "priority": "normal", "intent": "submit"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    c = db.session.scalars(db.select(Campaign)).one()
    assert freeze_now(c.id) == "frozen"
    db.session.refresh(c)
    assert c.strategy == "app_first" and c.snapshot["strategy"] == "app_first"

    approver = as_role("approver")
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert "Chiến lược kênh: Ưu tiên ứng dụng" in review
    assert cells(review, "data-strategy-row", "sms-all")[1] == "5"
    assert cells(review, "data-strategy-row", "sms-direct")[1] == "3"  # the claim counts not
    assert cells(review, "data-strategy-row", "app")[1] == "2"
    per_sms = (c.frozen_reach["strategy"]["sms_all"]["cost_vnd"]) // 5
    assert f"{2 * per_sms:,}".replace(",", ".") + " ₫" in re.sub(r"\s+", " ", review)
    assert cells(review, "data-reach", "sms-recipients")[1] == "3"

    approver.post(f"/approvals/{c.id}", {"decision": "approve", "snapshot_hash": c.snapshot_hash})
    assert editor.post(f"/campaigns/{c.id}/confirm/launch").status_code == 302
    work()  # the expand job (and push batches that find no FCM: nothing is sent here)
    db.session.expire_all()
    report = approver.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert cells(report, "data-reached", "app") == ["Ứng dụng (thiết bị đã xác minh, không SMS)",
                                                   "2"]
    assert 'id="report-strategy"' in report
