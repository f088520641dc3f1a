"""The main journeys in a real browser, with screenshots of each main page.

Editor: signs in, imports a list with bad rows and reads the report, composes a campaign and
watches the live preview, submits. Approver: approves, launches. The campaign's ledger rows are
then driven directly (expansion runs for real; submits and receipts are moved with
`dispatch.engine.ledger`), and the campaign page follows the progress to 100 % without a reload
of its own; the report export link downloads the CSV.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import select

from dispatch import jobs
from dispatch.campaigns import service
from dispatch.engine import ledger
from dispatch.engine.expand import expand
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus, User
from dispatch.sms import accounts as smpp_accounts
from tests.helpers.engine import freeze_now
from tests.helpers.factories import PASSWORD
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser
DATA = Path(__file__).resolve().parents[2] / "data"
TITLE = "Mời cử tri đi bầu <script>alert(1)</script>"
TEXT = ("Kính mời cử tri phường 1 đến điểm bầu cử lúc 7 giờ sáng Chủ nhật. "
        "Mang theo căn cước công dân. Trân trọng.")
S = MessageStatus


def _fresh(model: Any, ident: int) -> Any:
    """Read again what the server thread changed."""
    db.session.expire_all()
    return db.session.get(model, ident)


def _route_every_operator() -> None:
    smpp_accounts.create({"name": "smsc-1", "host": "127.0.0.1", "port": 2775,
                          "system_id": "loa", "password": "pw", "is_default": True,
                          "operators": [], "brandnames": ["HAUGIANG"]}, actor=None)
    db.session.commit()


def test_editor_to_approver_to_report(backend: str, screen: Screen, people: dict[str, User],
                                      redis: Any) -> None:
    _route_every_operator()
    page = screen.page

    # --- the editor signs in --------------------------------------------------------------
    page.goto("/")
    assert "/login" in page.url
    screen.shot("01-sign-in")
    screen.sign_in("editor1", PASSWORD)
    assert page.locator("h1").inner_text() == "Tổng quan"
    screen.shot("02-dashboard-editor")
    # No way to the approval or administration pages, and typing their address is refused.
    assert page.locator("nav >> text=Phê duyệt").count() == 0
    assert page.locator("nav >> text=Quản trị").count() == 0
    page.goto("/approvals")
    assert page.locator("h1").inner_text() == "Không được phép"
    page.goto("/admin/users")
    assert page.locator("h1").inner_text() == "Không được phép"

    # --- a list, and a file with bad rows --------------------------------------------------
    page.goto("/audiences/lists")
    page.fill("#f-name", "Cử tri phường 1")
    page.click("text=Tạo danh sách")
    page.wait_for_url(re.compile(r"/audiences/lists/\d+$"))
    list_url = page.url
    page.set_input_files("#f-file", str(DATA / "contacts_bad_rows.csv"))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/audiences/imports/\d+$"))
    expect(page.locator("#cancel-import")).to_be_visible()  # queued: the job has not run
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)
    page.reload()
    errors = page.locator("#import-errors tbody tr")
    assert errors.count() >= 5
    assert "số không hợp lệ" in page.locator("#import-errors").inner_text()
    screen.shot("03-import-report")
    page.goto(list_url)
    screen.shot("04-list")

    # --- a form without its CSRF token is refused -----------------------------------------
    page.goto("/audiences/optouts")
    page.evaluate("document.querySelector('form.stack input[name=csrf_token]').remove()")
    page.fill("#f-address", "0912345678")
    page.fill("#f-reason", "thử")
    page.click("form.stack button[type=submit]")
    assert page.locator("h1").inner_text() == "Biểu mẫu đã hết hạn"

    # --- compose, with the live preview ----------------------------------------------------
    page.goto("/campaigns/new")
    page.fill("#f-title", TITLE)
    page.fill("#f-sms_sender", "HAUGIANG")
    page.check("fieldset:has(legend:text-is('Danh sách thuê bao (SMS)')) input")
    page.fill("#f-sms_text", TEXT)
    expect(page.locator("#pv-parts")).to_have_text("2")
    assert "UCS-2" in page.locator("#pv-encoding").inner_text()
    assert page.locator("#pv-forcing mark").inner_text() == "í"  # "Kính": the first one
    # Each part of the preview comes from its own request: wait for it, do not read it once.
    expect(page.locator("#pv-costs tr").first).to_be_attached()
    expect(page.locator("#pv-saving")).to_contain_text("₫")
    expect(page.locator("#pv-thread .bubble")).to_have_count(2)
    screen.shot("05-composer-preview")
    page.check("#composer input[name=sms_plain]")
    expect(page.locator("#pv-parts")).to_have_text("1")
    assert "Kinh moi cu tri" in page.locator("#pv-thread").inner_text()
    page.click("text=Lưu và gửi duyệt")
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    assert page.locator("h1").inner_text() == TITLE  # shown as text, never run
    campaign_url = page.url
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    # The recipients are frozen by a job; the page says so and reloads itself once it is done.
    assert "Đang chốt danh sách người nhận" in page.locator(".head .badge").inner_text()
    expect(page.locator("#freezing")).to_be_visible()
    screen.shot("06-campaign-freezing")
    assert freeze_now(campaign_id) == "frozen"
    expect(page.locator(".head .badge")).to_contain_text("Chờ phê duyệt", timeout=10_000)
    expect(page.locator("#freezing")).to_have_count(0)
    screen.shot("06-campaign-submitted")
    page.goto("/campaigns")
    screen.shot("07-campaign-list")
    screen.sign_out()

    # --- the approver reviews and approves, then launches ---------------------------------
    screen.sign_in("approver1", PASSWORD)
    page.goto("/approvals")
    screen.shot("08-approval-queue")
    page.click("text=Xem xét")
    assert TITLE in page.locator("h1").inner_text()
    assert "Kinh moi cu tri" in page.locator("dl.facts").inner_text()
    screen.shot("09-approval-review")
    page.click("#approve-button")
    page.wait_for_url(campaign_url)
    assert "Đã phê duyệt" in page.locator(".head .badge").inner_text()
    page.click("a.button:has-text('Phát hành')")
    screen.shot("10-launch-confirm")
    page.click("#confirm-button")
    page.wait_for_url(campaign_url)
    assert "Đang gửi" in page.locator(".head .badge").inner_text()
    c = _fresh(Campaign, campaign_id)
    assert c.status is CampaignStatus.SENDING and c.approved_by_id == people["approver"].id

    # --- the ledger moves; the page follows without a reload ------------------------------
    expand(campaign_id)
    ids = list(db.session.scalars(select(Message.id).where(
        Message.campaign_id == campaign_id, Message.status == S.QUEUED).order_by(Message.id)))
    total = db.session.scalar(select(db.func.count()).where(Message.campaign_id == campaign_id))
    assert ids and total
    ledger.claim(ids)
    ledger.move(ids, S.SUBMITTED)
    half = ids[: len(ids) // 2]
    ledger.move(half, S.DELIVERED)
    db.session.commit()
    # Polled, not reloaded: the panel's figures change in place.
    page.evaluate("window.loaSameDocument = true")
    expect(page.locator(".progress-panel [data-f=delivered]")).to_have_text(
        str(len(half)), timeout=15_000)
    assert page.evaluate("window.loaSameDocument === true")
    screen.shot("11-campaign-sending")
    rest = ids[len(ids) // 2:]
    ledger.move(rest[:-1], S.DELIVERED)
    ledger.move(rest[-1:], S.FAILED, reason="absent subscriber", error_code="0x0b")
    service.complete(_fresh(Campaign, campaign_id))
    db.session.commit()
    # The progress reaches 100 %, then the status change reloads the page for its buttons.
    expect(page.locator(".head .badge")).to_contain_text("Hoàn thành", timeout=15_000)
    assert page.locator("[data-f=percent]").inner_text().startswith("100")
    assert "absent subscriber" in page.locator("text=absent subscriber").inner_text()
    screen.shot("12-campaign-completed")

    # --- the report export ------------------------------------------------------------------
    links = page.locator("a[data-report]")
    if links.count():
        with page.expect_download() as download:
            page.click("a[data-report=csv]")
        body = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert "+8491" in body or "84" in body
        assert len(body.splitlines()) >= len(ids)
    else:
        assert "chưa có" in page.locator("text=Báo cáo và xuất dữ liệu").inner_text()
    assert screen.dialogs == []  # nothing in the title ever ran


def test_every_main_page_at_both_sizes(backend: str, screen: Screen, phone: Screen,
                                       people: dict[str, User]) -> None:
    """Screenshots of the remaining main pages at 1366x768 and on a phone, and keyboard use."""
    from tests.helpers import web as helpers

    lst = helpers.contact_list(numbers=12)
    c = helpers.submitted(people["editor2"], lst, title="Thông báo lịch tiếp công dân")
    helpers.campaign(people["editor"], lst, title="Bản nháp: phòng chống bão số 3")
    _route_every_operator()
    admin_pages = {
        "20-admin-users": "/admin/users",
        "21-admin-smpp": "/admin/smpp",
        "22-admin-smpp-form": "/admin/smpp/new",
        "23-admin-settings": "/admin/settings",
        "24-admin-audit": "/admin/audit",
        "25-contacts": "/audiences/contacts",
        "26-opt-outs": "/audiences/optouts",
        "27-devices": "/audiences/devices",
        "28-dashboard-admin": "/",
        "29-account-sessions": "/account/sessions",
        "29-account-two-factor": "/account/two-factor",
    }
    screen.sign_in("admin1", PASSWORD)
    for name, path in admin_pages.items():
        screen.page.goto(path)
        _no_overflow(screen, name)
        screen.shot(name)
    phone.sign_in("editor1", PASSWORD)
    for name, path in {"30-phone-dashboard": "/", "31-phone-campaigns": "/campaigns",
                       "32-phone-composer": "/campaigns/new",
                       "33-phone-campaign": f"/campaigns/{c.id}",
                       "34-phone-two-factor": "/account/two-factor"}.items():
        phone.page.goto(path)
        _no_overflow(phone, name)
        phone.shot(name)
    # The keyboard reaches the sign-out button from the top of the page.
    page = phone.page
    page.goto("/")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Đăng xuất":
            break
    else:
        raise AssertionError("sign-out not reachable by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url("**/login")


def _no_overflow(screen: Screen, name: str) -> None:
    """Nothing sticks out sideways: the page is no wider than the window."""
    wide = screen.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 1, f"{name} is {wide}px wider than the window"
