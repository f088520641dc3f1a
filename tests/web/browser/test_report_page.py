"""A clerk goes from the plan's calendar to a campaign and its report page, writes the report
document and downloads it, on a laptop and on a phone; the DOCX opened in the test holds the
ledger's figures; the approver downloads the Vietnamese XLSX, which opens on its summary."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from playwright.sync_api import expect

from dispatch.models import Campaign, User
from tests.helpers import report_pages
from tests.helpers.factories import PASSWORD
from tests.helpers.screen import Screen
from tests.web.test_report_document import table, work

pytestmark = pytest.mark.browser


@pytest.fixture()
def finished(app: Any, people: dict[str, User]) -> Campaign:
    return report_pages.finished_campaign(app, people)


def _journey(window: Screen, c: Campaign, size: str, redis: Any) -> None:
    page = window.page
    page.goto(f"/plans/{c.phase.plan_id}/calendar")
    expect(page.locator("h1")).to_contain_text("Lịch")
    window.shot(f"39-plan-calendar-{size}")
    page.click(f"a[href='/campaigns/{c.id}']")
    page.wait_for_url(f"**/campaigns/{c.id}")
    page.click("a[data-report=report]")
    page.wait_for_url(f"**/campaigns/{c.id}/report")
    expect(page.locator("h1")).to_contain_text("Báo cáo")
    expect(page.locator('[data-table=funnel] [data-row=delivered] td.num')).to_have_text("7")
    expect(page.locator("svg.chart title").first).to_have_text(
        "Phễu kết quả: từ người nhận được duyệt đến đã nhận")
    # The tables fit the screen or scroll inside their own box, never the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, (size, width)
    window.shot(f"40-report-{size}")

    page.click("[data-make-document]")
    expect(page.locator("[data-pending]")).to_be_visible()
    work()
    page.reload()
    link = page.locator("a[data-document]")
    expect(link).to_be_visible()
    window.shot(f"41-report-document-{size}", full=False)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".docx")
    document = docx.Document(str(Path(download.value.path())))
    funnel = dict(table(document, "Chỉ tiêu")[1:])
    assert funnel["Đã nhận"] == "7" and funnel["Thất bại"] == "3"
    assert funnel["Trong danh sách gửi"] == "25"


def _xlsx(window: Screen, c: Campaign) -> None:
    page = window.page
    page.goto(f"/campaigns/{c.id}")
    with page.expect_download() as download:
        page.click("a[data-report=xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["Tổng hợp", "Người nhận"]
    summary = {row[0]: row[1:] for row in book["Tổng hợp"].iter_rows(values_only=True)
               if row and row[0]}
    assert summary["Chiến dịch"][0] == c.title and summary["Thất bại"][0] == 3
    header = next(book["Người nhận"].iter_rows(values_only=True))
    assert "Trạng thái" in header and "Số điện thoại quốc tế (E.164)" in header


def test_the_report_page_and_its_document_at_both_sizes(
        backend: str, screen: Screen, phone: Screen, finished: Campaign, redis: Any) -> None:
    screen.sign_in("editor1", PASSWORD)
    _journey(screen, finished, "desktop", redis)
    phone.sign_in("approver1", PASSWORD)
    _journey(phone, finished, "phone", redis)
    _xlsx(phone, finished)  # exports hold numbers: approvers and admins (report.export)
    # A period's report, from the menu.
    page = screen.page
    page.click("nav >> text=Báo cáo")
    page.fill("#since", "2025-03-01")
    page.fill("#until", "2025-03-31")
    page.click("form.filters button[type=submit]")
    expect(page.locator(f"[data-table=campaigns] [data-row='{finished.id}']")).to_be_visible()
    screen.shot("42-report-period-desktop")
    page.fill("#since", "2025-03-31")
    page.fill("#until", "2025-03-01")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#until-error")).to_contain_text("trước ngày bắt đầu")
