"""The plan in a real browser, on a laptop and a phone: the plan's calendar per phase, sent and
scheduled campaigns told apart, and the composer warning as the phase or send time changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, User
from tests.helpers.factories import PASSWORD, contact_list
from tests.helpers.plans import congress
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser


def _campaigns(people: dict[str, User]) -> Any:
    today = datetime.now(local_zone()).date()
    plan = congress(today + timedelta(days=7))  # phase 1 until today + 6, phase 2 the 3 days
    first, during, _ = plan.phases
    author = people["editor"].id
    yesterday = datetime.combine(today - timedelta(days=1), time(8, 0), local_zone())
    opening = datetime.combine(during.starts_on, time(7, 30), local_zone())
    db.session.add_all([
        Campaign(title="Chào mừng Đại hội đại biểu Đảng bộ tỉnh lần thứ XV", channels="both",
                 phase_id=first.id, created_by_id=author, status=CampaignStatus.COMPLETED,
                 launched_at=yesterday),
        Campaign(title="Khai mạc Đại hội", channels="sms", phase_id=during.id,
                 created_by_id=author, status=CampaignStatus.SCHEDULED,
                 launched_at=yesterday, send_at=opening)])
    db.session.commit()
    return plan


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_clerk_opens_the_plans_calendar(backend: str, screen: Screen, phone: Screen,
                                          people: dict[str, User], size: str) -> None:
    window = screen if size == "desktop" else phone
    plan = _campaigns(people)
    first, during, after = plan.phases
    window.sign_in(people["editor"].username, PASSWORD)
    page = window.page
    page.goto("/")
    page.click("nav >> text=Kế hoạch")
    page.click(f"text={plan.title}")
    expect(page.locator(f"#phase-{first.id}")).to_have_text("Đợt 1: Trước Đại hội")
    window.shot(f"plan-{size}")
    page.click("a.button >> text=Lịch")
    one = page.locator(f"#calendar-phase-{first.id}")
    two = page.locator(f"#calendar-phase-{during.id}")
    expect(one.locator('[data-kind="sent"] .kind')).to_have_text("Đã gửi")
    expect(two.locator('[data-kind="scheduled"] .kind')).to_have_text("Đã hẹn giờ")
    expect(two.locator('[data-kind="scheduled"] .time')).to_have_text("07:30")
    expect(page.locator(f"#calendar-phase-{after.id}")).to_contain_text(
        "Đợt này chưa có chiến dịch nào.")
    # Nothing is cut off: the page is no wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    window.shot(f"plan-calendar-{size}")


def test_the_composer_warns_as_the_phase_or_send_time_changes(backend: str, screen: Screen,
                                                              people: dict[str, User]) -> None:
    plan = _campaigns(people)
    first, during, _ = plan.phases
    contact_list()
    screen.sign_in(people["editor"].username, PASSWORD)
    page = screen.page
    page.goto("/campaigns/new")
    live = page.locator("#outside-phase-live")
    expect(live).to_be_hidden()
    page.select_option("#f-phase_id", str(first.id))
    expect(live).to_be_hidden()  # sent when launched: today, inside phase 1
    late = (during.starts_on + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    page.fill("#f-send_at", late)
    expect(live).to_be_visible()
    expect(live).to_contain_text("Đợt 1: Trước Đại hội")
    expect(live).to_contain_text("hẹn gửi ngày " + (during.starts_on + timedelta(days=1))
                                 .strftime("%d/%m/%Y"))
    screen.shot("composer-outside-phase")
    page.select_option("#f-phase_id", str(during.id))
    expect(live).to_be_hidden()
