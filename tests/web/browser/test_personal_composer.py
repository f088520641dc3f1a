"""The composer's personalised text in a real browser: the placeholders found, samples rendered
for the chosen audience, the longest message, recipients per parts count and the cost — and the
figures at the top (parts per message, the cost table) are those of the rendered texts, the same
the draft's page then promises, not the template's.

The template is GSM-7 and one part as written; a Vietnamese name makes a recipient's text UCS-2
and two or three parts. Screenshot: build/screenshots/composer-placeholders.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.campaigns import estimate, settings
from dispatch.extensions import db
from dispatch.models import Campaign, Contact, User
from dispatch.replies import ask
from gateways.sms.encoding import analyse, strip_diacritics
from tests.helpers.factories import PASSWORD, make_list
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser
TEXT = ("Kinh gui {ho_ten|ong/ba}: UBND {huyen|tinh Hau Giang} tiep cong dan tu 7h30 den 11h "
        "thu Hai va thu Nam hang tuan. Chi tiet tren ung dung Hau Giang.")
NAMES = ["Nguyễn Thị Thanh Hương", None, "Tran Van An", "Lê Văn Tý", None, "Pham Thi Mai"]


def _rendered(name: str | None) -> str:
    return TEXT.replace("{ho_ten|ong/ba}", name or "ong/ba").replace(
        "{huyen|tinh Hau Giang}", "tinh Hau Giang")


def _rows(page: Any, selector: str) -> list[list[str]]:
    return [[c.strip() for c in row.locator("td").all_inner_texts()]
            for row in page.locator(selector).all()]


def test_the_live_preview_counts_the_rendered_texts(backend: str, screen: Screen,
                                                   people: dict[str, User], redis: Any) -> None:
    contacts = [Contact(msisdn=f"+849600000{i:02d}", operator="viettel", name=name,
                        attributes={}) for i, name in enumerate(NAMES)]
    db.session.add_all(contacts)
    db.session.commit()
    make_list("Tiếp công dân", contacts)
    price = int(settings.get("sms_price_per_part")["viettel"])
    parts = [analyse(_rendered(name)).parts for name in NAMES]
    assert analyse(TEXT).parts == 1 and sorted(set(parts)) == [1, 2, 3], parts  # at stake
    plain = [analyse(strip_diacritics(_rendered(name))).parts for name in NAMES]
    assert plain == [1] * 6, plain
    longest = max(NAMES, key=lambda n: (analyse(_rendered(n)).parts, len(_rendered(n))))

    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("#f-title", "Lịch tiếp công dân")
    page.fill("#f-sms_sender", "HAUGIANG")
    page.check("fieldset:has(legend:text-is('Danh sách thuê bao (SMS)')) input")
    page.fill("#f-sms_text", TEXT)
    box = page.locator("#pv-personal")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("data-parts", "1-3")
    expect(page.locator("#pv-parts")).to_have_text("1–3")  # not the template's 1
    expect(page.locator("#pv-encoding")).to_have_text(re.compile(r"^GSM-7 / UCS-2"))
    expect(page.locator("#pv-chars")).to_have_text(str(len(_rendered(longest))))
    expect(page.locator("#pv-placeholders")).to_contain_text("{ho_ten} (mặc định: ong/ba)")
    expect(page.locator("#pv-placeholders")).to_contain_text("{huyen} (mặc định: tinh Hau Giang)")
    expect(page.locator("#pv-samples .bubble")).to_have_count(3)
    expect(page.locator("#pv-samples .bubble").first).to_have_text(_rendered(NAMES[0]))
    expect(page.locator("#pv-longest")).to_have_text(_rendered(longest))
    histogram = [[str(p), str(parts.count(p))] for p in (1, 2, 3)]
    assert _rows(page, "#pv-histogram tr") == histogram
    cost = sum(parts) * price
    money = f"{cost:,}".replace(",", ".") + " ₫"
    expect(page.locator("#pv-total")).to_contain_text(money)
    assert _rows(page, "#pv-total tr") == [["Tổng", "6", str(sum(parts)), money]]
    expect(page.locator("#pv-personal-total")).to_have_text(
        f"6 người nhận, {sum(parts)} phần tin, chi phí {money}.")
    screen.shot("composer-placeholders")

    # Without diacritics, every text is GSM-7 again: one part each, and the cost follows.
    page.check("#composer input[name=sms_plain]")
    expect(page.locator("#pv-parts")).to_have_text("1")
    expect(page.locator("#pv-encoding")).to_have_text("GSM-7")
    expect(page.locator("#pv-histogram tr")).to_have_count(1)
    assert _rows(page, "#pv-histogram tr") == [["1", "6"]]
    page.uncheck("#composer input[name=sms_plain]")
    expect(page.locator("#pv-parts")).to_have_text("1–3")

    # What the draft's page (the server's preview) then promises is what the composer showed.
    page.click("button[name=intent][value=save]")
    page.wait_for_url(re.compile(r".*/campaigns/\d+/edit$"))
    expect(page.locator(".flash.success")).to_contain_text("Đã lưu bản nháp")
    edit = page.url
    expect(page.locator("#pv-parts")).to_have_text("1–3")  # the saved draft, previewed again
    page.goto(edit.removesuffix("/edit"))
    server = page.locator("#personal-preview")
    assert _rows(page, "#personal-preview tbody tr") == histogram
    expect(server).to_contain_text(f"6 người nhận, {sum(parts)} phần tin, chi phí {money}.")

    # A text without placeholders hides the box and counts the template as sent.
    page.goto(edit)
    page.fill("#f-sms_text", "Lich tiep cong dan thu Hai va thu Nam.")
    expect(box).to_be_hidden()
    expect(page.locator("#pv-parts")).to_have_text("1")
    assert _rows(page, "#pv-total tr") == [["Tổng", "6", "6", f"{6 * price:,}".replace(",", ".")
                                            + " ₫"]]


def test_the_live_preview_counts_the_survey_question_as_sent(backend: str, screen: Screen,
                                                            people: dict[str, User],
                                                            redis: Any) -> None:
    """A survey's question goes on its own line after the text, with how to answer ("Trả lời 1
    hoặc 2", UCS-2): the live parts and cost are those of that text, as the server's preview."""
    contacts = [Contact(msisdn=f"+849700000{i:02d}", operator="viettel", attributes={})
                for i in range(4)]
    db.session.add_all(contacts)
    db.session.commit()
    make_list("Khảo sát", contacts)
    price = int(settings.get("sms_price_per_part")["viettel"])
    text = "Lay y kien du thao van kien Dai hoi. {{Loa}}"
    survey = {"question": "Ong/ba co dong y voi du thao?",
              "choices": [{"key": "1", "label": "Đồng ý"}, {"key": "2", "label": "Không"}]}
    sent = ask.sent_text("Lay y kien du thao van kien Dai hoi. {Loa}", "survey", survey)
    assert sent.endswith("\nOng/ba co dong y voi du thao? Trả lời 1 hoặc 2")
    parts = analyse(sent).parts
    assert analyse(text).parts == 1 and parts == 2  # the question makes it UCS-2, two parts

    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("#f-title", "Khảo sát dự thảo")
    page.fill("#f-sms_sender", "HAUGIANG")
    page.check("fieldset:has(legend:text-is('Danh sách thuê bao (SMS)')) input")
    page.fill("#f-sms_text", text)
    expect(page.locator("#pv-parts")).to_have_text("1")
    expect(page.locator("#pv-thread .bubble").first).to_have_text(
        "Lay y kien du thao van kien Dai hoi. {Loa}")  # braces undoubled, as sent
    page.check("#composer input[name=reply_mode][value=survey]")
    page.fill("#f-survey_question", survey["question"])
    page.fill("#f-survey_choices", "1 = Đồng ý\n2 = Không")
    expect(page.locator("#pv-parts")).to_have_text(str(parts))
    expect(page.locator("#pv-encoding")).to_have_text(re.compile("UCS-2"))
    expect(page.locator("#pv-thread")).to_contain_text("Trả lời 1 hoặc 2")
    expect(page.locator("#pv-personal")).to_be_hidden()  # no placeholder
    money = f"{4 * parts * price:,}".replace(",", ".") + " ₫"
    expect(page.locator("#pv-total")).to_contain_text(money)
    assert _rows(page, "#pv-total tr") == [["Tổng", "4", str(4 * parts), money]]
    screen.shot("composer-survey-question")

    page.click("button[name=intent][value=save]")
    page.wait_for_url(re.compile(r".*/campaigns/\d+/edit$"))
    c = db.session.scalars(select(Campaign)).one()
    server = estimate.campaign_preview(c)["sms"]
    assert (server["original"]["parts"], server["totals"]["original"]["cost"]) == (
        parts, 4 * parts * price)
    expect(page.locator("#pv-parts")).to_have_text(str(parts))  # the saved draft, again
