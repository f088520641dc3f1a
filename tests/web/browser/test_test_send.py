"""Test sends in a real browser: the composer's "Gửi thử" button sends the saved draft to the
test list, and the approval page says that the version under review was tested, when and by whom.
Screenshots: build/screenshots/test-send-composer.png, approval-tested.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.campaigns import service, testlist
from dispatch.extensions import db
from dispatch.models import Campaign, ContactList, User
from tests.helpers.engine import freeze_now
from tests.helpers.factories import PASSWORD, contact_list
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser


def test_send_test_from_the_composer_and_the_tested_line_on_approval(
        backend: str, screen: Screen, people: dict[str, User], redis: Any) -> None:
    testlist.add(name="Chị Lan", msisdn="0912345678", actor=people["admin"])
    testlist.add(name="Anh Minh", msisdn="0961000002", actor=people["admin"])
    lst: ContactList = contact_list(numbers=3)
    c = service.create({"title": "Lịch tiêm phòng", "channels": "sms", "sms_sender": "HAUGIANG",
                        "sms_text": "Kính gửi {ho_ten|ông/bà}: tiêm phòng ngày 5/12.",
                        "audience": {"lists": [lst.id]}}, actor=people["editor"])
    db.session.commit()
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto(f"/campaigns/{c.id}/edit")
    card = page.locator("[data-test-send]")
    expect(card).to_contain_text("Chiến dịch này chưa được gửi thử.")
    expect(page.locator("#f-test-member option")).to_have_count(3)  # the list, and each member
    page.click("#test-send-button")
    expect(page.locator(".flash.success").first).to_contain_text("Đã gửi thử tới Chị Lan, Anh Minh")
    expect(page.locator("[data-tested=yes]")).to_contain_text("đã được gửi thử lúc")
    assert page.url.endswith(f"/campaigns/{c.id}/edit"), page.url
    screen.shot("test-send-composer")
    db.session.expire_all()
    tests = db.session.scalars(select(Campaign).where(Campaign.parent_id == c.id)).all()
    assert sorted(t.sms_text or "" for t in tests) == [
        "Kính gửi Anh Minh: tiêm phòng ngày 5/12.", "Kính gửi Chị Lan: tiêm phòng ngày 5/12."]
    page.goto(f"/campaigns/{c.id}")
    expect(page.locator("#test-send-button")).to_be_visible()
    page.click("form[action$='/submit'] button")
    expect(page.locator("#freezing")).to_be_visible()
    assert freeze_now(c.id) == "frozen"
    screen.sign_out()
    screen.sign_in("approver1", PASSWORD)
    page.goto(f"/approvals/{c.id}")
    line = page.locator("[data-approval-tested] [data-tested=yes]")
    expect(line).to_contain_text("Phiên bản này (1) đã được gửi thử lúc")
    expect(line).to_contain_text(people["editor"].full_name or "editor1")
    expect(page.locator("#test-send-button")).to_have_count(0)  # approvers do not send tests
    screen.shot("approval-tested")
