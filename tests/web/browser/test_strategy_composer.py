"""The composer's channel strategy in a real browser: choosing one shows the saving.

Ten numbers in a list, four of them with an app device whose number the app verified, one with
a claimed number only. "App first" must show the SMS to six recipients and the saving of four
SMS, with the cost per channel in the approval page's rows; "both" shows no saving.
Screenshot: build/screenshots/strategy-composer.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from dispatch.campaigns import settings
from dispatch.extensions import db
from dispatch.models import Contact, ContactList, Device, ListMember, User
from dispatch.models.common import utcnow
from tests.helpers.factories import PASSWORD
from tests.helpers.push import fcm_token
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser
TEXT = "Lich cat dien ngay 5/12 tai phuong 1, tu 8 gio den 11 gio."


def _audience(editor: User) -> None:
    lst = ContactList(name="Khu phố 1", created_by_id=editor.id)
    db.session.add(lst)
    db.session.flush()
    for i in range(10):
        contact = Contact(msisdn=f"+8496{i:07d}", operator="viettel", attributes={})
        db.session.add(contact)
        db.session.flush()
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
        if i < 5:  # four verified, the fifth only claimed
            db.session.add(Device(installation_id=f"inst-strategy-{i}", fcm_token=fcm_token(),
                                  platform="android", topics=[], msisdn=contact.msisdn,
                                  msisdn_verified_at=utcnow() if i < 4 else None))
    db.session.commit()


def test_the_strategy_choice_shows_the_saving(backend: str, screen: Screen,
                                              people: dict[str, User], redis: Any) -> None:
    _audience(people["editor"])
    price = int(settings.get("sms_price_per_part")["viettel"])
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("#f-title", "Cắt điện khu phố 1")
    page.check("#composer input[name=channels][value=both]")
    page.fill("#f-sms_sender", "HAUGIANG")
    page.fill("#f-sms_text", TEXT)
    page.check("fieldset:has(legend:text-is('Danh sách thuê bao (SMS)')) input")
    page.check("#composer input[name=all_app_users]")
    box = page.locator("#pv-strategy")
    expect(box).to_have_attribute("data-saving", "0")
    page.check("#composer input[name=strategy][value=app_first]")
    expect(box).to_have_attribute("data-saving", str(4 * price))
    text = box.inner_text()
    assert "4 số nhận qua ứng dụng" in text and "SMS cho 6 người nhận" in text, text
    assert f"{4 * price:,}".replace(",", ".") in text, text

    def money(n: int) -> str:
        return f"{n:,}".replace(",", ".") + " ₫"

    def rows() -> dict[str, list[str]]:
        found = {}
        for tr in page.locator("#pv-strategy-rows tr").all():
            found[tr.get_attribute("data-strategy-row") or ""] = [
                c.strip() for c in tr.locator("td").all_inner_texts()][1:]
        return found

    expect(page.locator("#pv-strategy-table")).to_be_visible()
    assert rows() == {"sms-all": ["10", "10", money(10 * price)],
                      "sms-direct": ["6", "6", money(6 * price)],
                      "app": ["4", "—", money(0)]}
    expect(page.locator("#pv-strategy-rows [data-strategy-row=sms-all] td").first).to_have_text(
        "SMS cho mọi người (để so sánh)")
    screen.shot("strategy-composer")
    page.check("#composer input[name=strategy][value=app_then_sms]")
    expect(box).to_contain_text("tối đa")
    expect(page.locator("#pv-strategy-rows [data-strategy-row=sms-fallback]")).to_have_count(1)
    assert rows()["sms-fallback"] == ["4", "4", money(4 * price)]
    page.check("#composer input[name=strategy][value=both]")
    expect(page.locator("#pv-strategy-table")).to_be_hidden()
    page.check("#composer input[name=channels][value=sms]")
    expect(page.locator("#strategy")).to_be_hidden()  # a strategy needs both channels
