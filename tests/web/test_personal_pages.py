"""The personalised text's preview on the draft and approval pages, in Vietnamese."""

from __future__ import annotations

from html import unescape

from dispatch.extensions import db
from dispatch.models import Contact
from tests.helpers.factories import make_list
from tests.helpers.web import campaign, submitted

TEXT = "Kính gửi {ho_ten|ông/bà} ({nghe}), {{Loa}}"


def _list():
    people = [("Nguyễn Thị Lan", {"nghe": "nông dân"}), (None, {"nghe": "ngư dân"}),
              ("Lê Văn Tý", {})]
    contacts = [Contact(msisdn=f"+8491200000{i}", operator="viettel", name=name,
                        attributes=attrs) for i, (name, attrs) in enumerate(people)]
    db.session.add_all(contacts)
    db.session.commit()
    return make_list("Cá nhân", contacts)


def test_draft_and_approval_pages_show_samples_parts_and_the_missing(as_role, people):
    lst = _list()
    draft = campaign(people["editor"], lst, sms_text=TEXT)
    page = unescape(as_role("editor").get(f"/campaigns/{draft.id}").get_data(as_text=True))
    assert "Nội dung cá nhân hoá" in page
    assert "Kính gửi Nguyễn Thị Lan (nông dân), {Loa}" in page
    assert "Kính gửi ông/bà (ngư dân), {Loa}" in page
    assert "Số liệu từ 3 người nhận đầu tiên" in page
    assert "1 người nhận thiếu giá trị" in page
    sent = submitted(people["editor"], lst, sms_text=TEXT, title="Duyệt")
    page = unescape(as_role("approver").get(f"/approvals/{sent.id}").get_data(as_text=True))
    assert "Kính gửi Nguyễn Thị Lan (nông dân), {Loa}" in page
    assert "Số liệu từ" not in page  # exact figures, counted at submission
    assert "2 người nhận, 2 phần tin" in page


def test_the_report_page_answers_what_a_number_received(as_role, people, app):
    from dispatch.engine import expand
    from dispatch.models import CampaignStatus
    from dispatch.models.common import utcnow
    from tests.helpers.factories import add_account

    add_account(is_default=True)  # a route; nothing is sent in this test
    lst = _list()
    c = campaign(people["editor"], lst, sms_text=TEXT)
    c.status, c.launched_at = CampaignStatus.SENDING, utcnow()
    db.session.commit()
    expand.expand(c.id)
    reader = as_role("editor")
    report = reader.get(f"/campaigns/{c.id}/report").get_data(as_text=True)
    assert f"/campaigns/{c.id}/received" in report
    page = unescape(reader.get(f"/campaigns/{c.id}/received",
                               query_string={"msisdn": "0912000000"}).get_data(as_text=True))
    assert "Kính gửi Nguyễn Thị Lan (nông dân), {Loa}" in page
    page = unescape(reader.get(f"/campaigns/{c.id}/received",
                               query_string={"msisdn": "0912000002"}).get_data(as_text=True))
    assert "Không có tin nào được gửi tới số này." in page
    page = unescape(reader.get(f"/campaigns/{c.id}/received",
                               query_string={"msisdn": "12ab"}).get_data(as_text=True))
    assert "Không phải số di động Việt Nam." in page


def test_the_composer_estimates_take_what_a_browser_sends(as_role, people):
    """POST /campaigns/estimate/text (the composer's SMS as sent) and /estimate/strategy: a long
    Vietnamese text, a survey, a broken template and junk all get an answer, never a 5xx."""
    lst = _list()
    editor = as_role("editor")

    def estimate(body, what="text"):
        response = editor.client.post(f"/campaigns/estimate/{what}", json=body,
                                      headers={"X-CSRFToken": editor.token})
        assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]
        return response.get_json()

    long = "Thông báo lịch tiếp công dân của Ủy ban nhân dân tỉnh. " * 27  # > 1,400 characters
    answer = estimate({"sms_text": long, "lists": [str(lst.id)], "reply_mode": "survey",
                       "survey_question": "Ông/bà có đồng ý?",
                       "survey_choices": "1 = Đồng ý\n2 = Không"})
    assert answer["text"] == long.strip() + "\nÔng/bà có đồng ý? Trả lời 1 hoặc 2"
    assert answer["personal"] is None
    personal = estimate({"sms_text": TEXT, "lists": [lst.id], "sms_plain": True})
    assert personal["text"] == TEXT  # a personalised text is rendered per recipient instead
    assert personal["personal"]["samples"][0]["text"] == "Kinh gui Nguyen Thi Lan (nong dan), {Loa}"
    assert personal["personal"]["encodings"] == {"gsm7": 2}
    assert estimate({"sms_text": "Mở ngoặc {ho_ten", "lists": [lst.id]})["personal"] is None
    for junk in ({}, {"sms_text": 5, "lists": "x", "localities": [None]}, {"lists": [999]},
                 {"reply_mode": "survey", "survey_choices": "=\n=|"}):
        estimate(junk)
        estimate(junk, "strategy")
    assert editor.client.post("/campaigns/estimate/text", data="not json",
                              headers={"X-CSRFToken": editor.token}).status_code == 200
    # The strategy's figures of a text longer than a URL may carry (UCS-2, 67 a part).
    figures = estimate({"sms_text": long, "lists": [lst.id], "all_app_users": True}, "strategy")
    parts = -(-len(long.strip()) // 67)
    assert figures["sms_all"]["recipients"] == 3 and figures["sms_all"]["parts"] == 3 * parts
