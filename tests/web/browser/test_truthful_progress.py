"""In the browser: the composer names no forcing character for the không dấu variant, and the
campaign page's script says why nothing moves from the progress API's code."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import User
from tests.helpers.engine import launched, numbers, work
from tests.helpers.factories import PASSWORD, add_account, add_contacts
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser


def test_the_plain_variant_is_not_said_to_force_ucs2(backend: str, screen: Screen,
                                                     people: dict[str, User]) -> None:
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("#f-sms_sender", "HAUGIANG")
    page.fill("#f-sms_text", "Chào mừng Đại hội đại biểu Đảng bộ tỉnh lần thứ XV")
    # "à" is in the GSM-7 alphabet: the first character that forces UCS-2 is the "ừ" of "mừng".
    expect(page.locator("#pv-forcing mark")).to_have_text("ừ")
    page.check("#composer input[name=sms_plain]")
    expect(page.locator("#pv-encoding")).to_contain_text("GSM-7")
    expect(page.locator("#pv-forcing")).to_have_text("")
    page.uncheck("#composer input[name=sms_plain]")
    expect(page.locator("#pv-forcing mark")).to_have_text("ừ")


def test_the_page_follows_a_pause_and_says_so(backend: str, screen: Screen, redis: Any,
                                              people: dict[str, User]) -> None:
    add_account()
    lst = add_contacts("A", numbers(0, 2))
    c = launched(people, audience={"lists": [lst.id]})
    work()
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/")  # the dashboard's panel polls and never reloads
    panel = page.locator(f".progress-panel[data-progress-url='/api/campaigns/{c.id}/progress']")
    expect(panel.locator("[data-f=note]")).to_contain_text("Chờ kết nối nhà mạng")
    service.pause(c, actor=people["approver"], reason="Tạm dừng để sửa nội dung")
    db.session.commit()
    redis.delete(keys.progress(c.id))
    expect(panel.locator("[data-f=note]")).to_have_text("Tạm dừng: Tạm dừng để sửa nội dung",
                                                        timeout=15_000)
    expect(panel.locator("[data-f=rate]")).to_have_text("—")
    expect(panel.locator("[data-f=eta]")).to_have_text("—")
