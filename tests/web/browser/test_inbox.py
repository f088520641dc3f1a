"""A clerk opens the reply inbox, filters it by campaign and locality, then labels and
handles a reply; the number stays masked all along (the clerk may not see it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, User
from dispatch.models.replies import Reply
from tests.helpers import replies, surveys
from tests.helpers.factories import PASSWORD
from tests.helpers.screen import SHOTS, Screen

pytestmark = pytest.mark.browser


def test_a_clerk_filters_labels_and_handles_a_reply(backend: str, screen: Screen,
                                                    people: dict[str, User]) -> None:
    tags = replies.labels()
    survey = replies.survey(people["editor"])
    other = replies.survey(people["editor"], "Khảo sát dịch vụ công trực tuyến")
    wanted = replies.reply("Đồng ý, đề nghị bổ sung nội dung chuyển đổi số", campaign=survey,
                           msisdn="+84912345678")
    replies.reply("Ở Ngã Bảy thì sao?", campaign=survey, locality="nga-bay",
                  msisdn="+84987654321")
    replies.reply("Khảo sát khác", campaign=other, msisdn="+84911222333")
    clerk = people["editor"]
    page = screen.page
    screen.sign_in(clerk.username, PASSWORD)
    page.click("nav a[href='/inbox']")
    page.wait_for_url("**/inbox")
    expect(page.locator("h1")).to_have_text("Hộp thư phản hồi")
    expect(page.locator("a[data-reply]")).to_have_count(3)
    screen.shot("50-inbox-desktop")

    page.select_option("#campaign_id", str(survey.id))
    page.select_option("#locality_id", label="Thành phố Vị Thanh")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"**/inbox?*campaign_id={survey.id}*")
    rows = page.locator("a[data-reply]")
    expect(rows).to_have_count(1)
    assert "0912 *** 678" in page.content() and "0912 345 678" not in page.content()
    screen.shot("51-inbox-filtered-desktop")

    rows.first.click()
    page.wait_for_url(f"**/inbox/{wanted.id}")
    expect(page.locator("blockquote")).to_contain_text("chuyển đổi số")
    expect(page.get_by_role("button", name="Xem số")).to_have_count(0)
    page.select_option("#f-label_id", label="Góp ý văn kiện")
    page.select_option("#f-state", "handled")
    page.fill("#f-note", "Tổng hợp vào báo cáo góp ý văn kiện")
    page.click("form[aria-label='Xử lý phản hồi này'] button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Đã lưu phản hồi")
    expect(page.locator("h1 .badge")).to_have_text("Đã xử lý")
    screen.shot("52-inbox-reply-handled-desktop")

    db.session.expire_all()
    row = db.session.get(Reply, wanted.id)
    assert (row.label_id, row.state, row.handled_by_id) == (
        tags["Góp ý văn kiện"].id, "handled", clerk.id)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "reply.unmask")) is None


def test_a_clerk_goes_from_a_survey_reply_to_the_results_chart(backend: str, screen: Screen,
                                                               people: dict[str, User]) -> None:
    """The survey of tests/helpers/surveys.py (its figures counted by hand in EXPECTED): the
    clerk filters its replies from Ngã Bảy, labels and handles one, then follows the campaign to
    its results chart."""
    tags = replies.labels()
    c = surveys.survey_campaign(people)
    replies.reply("Khảo sát khác", campaign=replies.survey(people["editor"], "Khảo sát khác"),
                  locality="nga-bay", msisdn="+84911222333")
    nga_bay = surveys.place("nga-bay")
    wanted = db.session.scalars(select(Reply).where(
        Reply.campaign_id == c.id, Reply.locality_id == nga_bay.id)).all()
    assert len(wanted) == 3  # choice 3, an opt-out, choice 1 (surveys.survey_campaign)
    answer = next(r for r in wanted if r.choice == "3")
    page = screen.page
    screen.sign_in(people["editor"].username, PASSWORD)
    page.goto("/inbox")
    page.select_option("#campaign_id", str(c.id))
    page.select_option("#locality_id", label="Thành phố Ngã Bảy")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"**/inbox?*campaign_id={c.id}*")
    expect(page.locator("a[data-reply]")).to_have_count(len(wanted))
    page.click(f"a[data-reply='{answer.id}']")
    page.wait_for_url(f"**/inbox/{answer.id}")
    page.select_option("#f-label_id", label="Góp ý văn kiện")
    page.select_option("#f-state", "handled")
    page.click("form[aria-label='Xử lý phản hồi này'] button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Đã lưu phản hồi")
    db.session.expire_all()
    row = db.session.get(Reply, answer.id)
    assert (row.label_id, row.state) == (tags["Góp ý văn kiện"].id, "handled")

    # From the reply to its campaign, and to the campaign's report: the survey's chart.
    page.click(f"dd a[href='/campaigns/{c.id}']")
    page.wait_for_url(f"**/campaigns/{c.id}")
    page.click(f"a[data-report][href='/campaigns/{c.id}/report']")
    page.wait_for_url(f"**/campaigns/{c.id}/report")
    section = page.locator("section[data-survey]")
    expect(section.locator("h2")).to_have_text("Kết quả khảo sát")
    chart = section.locator(f"svg[aria-labelledby='chart-survey-{c.id}-t chart-survey-{c.id}-d']")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(len(surveys.CHOICES))  # a bar per choice
    expected = surveys.EXPECTED["choices"]
    described = chart.locator("desc").text_content() or ""
    for choice in surveys.CHOICES:
        cells = page.locator(f"[data-table=survey-choices] tr[data-row='{choice['key']}'] td")
        expect(cells.nth(1)).to_have_text(str(expected[choice["key"]]))
        assert f"{choice['label']}: {expected[choice['key']]}" in described, described
    expect(section.locator("[data-f=answers]")).to_have_text(str(surveys.EXPECTED["answers"]))
    screen.shot("53-survey-results-desktop")
    SHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SHOTS / "54-survey-results-chart-desktop.png"))  # the section
