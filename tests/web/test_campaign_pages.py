"""The composer, the campaign page and its actions, and approval: through the forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, CampaignStatus, User
from tests.helpers import web as helpers
from tests.helpers.engine import freeze_now, submit

XSS = "<script>alert('x')</script>"


def composer_form(list_id: int, **over: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "Thông báo bầu cử", "channels": "sms", "sms_sender": "HAUGIANG",
        "sms_text": "Kính mời cử tri\r\nđi bầu cử.", "lists": [str(list_id)],
        "window_start": "07:00", "window_end": "22:00", "validity_hours": "24",
        "priority": "normal", "intent": "save",
    }
    form.update(over)
    return form


def test_compose_save_then_submit(backend: str, as_role: Any) -> None:
    lst = helpers.contact_list()
    editor = as_role("editor")
    page = editor.get("/campaigns/new").get_data(as_text=True)
    assert 'id="composer"' in page and "Cử tri Vị Thanh (3)" in page
    saved = editor.post("/campaigns/new", composer_form(lst.id))
    assert saved.status_code == 302
    c = db.session.scalars(select(Campaign)).one()
    assert c.status is CampaignStatus.DRAFT
    assert c.sms_text == "Kính mời cử tri\nđi bầu cử."  # browser line ends made plain
    assert c.audience["lists"] == [lst.id]
    # Saving the same form again changes nothing (no new version).
    again = editor.post(f"/campaigns/{c.id}/edit", composer_form(lst.id))
    assert again.status_code == 302
    assert c.version == 1
    submitted = editor.post(f"/campaigns/{c.id}/edit", composer_form(lst.id, intent="submit"))
    assert submitted.headers["Location"] == f"/campaigns/{c.id}"
    assert c.status is CampaignStatus.SUBMITTING
    assert c.snapshot["sms_text"] == "Kính mời cử tri\nđi bầu cử."
    # The page says the recipients are being frozen and watches for the end; approval waits.
    page = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="freezing"' in page and "Loa đang chốt danh sách người nhận" in page
    assert "Đang chốt danh sách người nhận" in page  # the status badge
    review = as_role("approver").get(f"/approvals/{c.id}").get_data(as_text=True)
    assert 'id="freezing"' in review and 'id="h-approve"' not in review
    assert freeze_now(c.id) == "frozen"
    db.session.refresh(c)
    assert c.status is CampaignStatus.PENDING_APPROVAL and c.frozen_reach["sms"]["recipients"] == 3
    assert 'id="freezing"' not in editor.get(f"/campaigns/{c.id}").get_data(as_text=True)


def test_errors_name_the_field(backend: str, as_role: Any) -> None:
    lst = helpers.contact_list()
    editor = as_role("editor")
    bad = editor.post("/campaigns/new", composer_form(lst.id, sms_sender="Hậu Giang"))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="sms_sender-error"' in html and "Hau Giang" in html  # the service's advice
    assert "Tên thương hiệu" in html  # the field, named in the summary
    assert db.session.scalar(select(Campaign.id)) is None
    # The form keeps what was typed.
    assert "Kính mời cử tri" in html
    image = editor.post("/campaigns/new", composer_form(lst.id, push_image="ftp://x"))
    assert image.status_code == 422
    assert 'id="push_image-error"' in image.get_data(as_text=True)
    incomplete = editor.post("/campaigns/new", composer_form(lst.id, lists=[], intent="submit"))
    assert incomplete.status_code == 422  # saved as a draft, but not submittable
    html = incomplete.get_data(as_text=True)
    assert "SMS cần ít nhất một danh sách hoặc một địa bàn." in html
    c = db.session.scalars(select(Campaign)).one()
    assert c.status is CampaignStatus.DRAFT


def test_audience_estimate_for_the_live_preview(backend: str, as_role: Any) -> None:
    lst = helpers.contact_list(numbers=4)
    editor = as_role("editor")
    data = editor.get(f"/campaigns/estimate?lists={lst.id}&channels=sms").json
    assert data["sms"] == {"viettel": 4} and data["sms_total"] == 4
    unknown = editor.get("/campaigns/estimate?lists=999&channels=sms")
    assert unknown.status_code == 422


def test_campaign_text_is_shown_as_text(backend: str, as_role: Any,
                                        people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst, title=f"Tiêu đề {XSS}", sms_text=f"Nội dung {XSS}")
    pages = {
        "editor": [f"/campaigns/{c.id}", "/campaigns", f"/campaigns/{c.id}/edit"],
        "approver": [f"/approvals/{c.id}", "/approvals", "/"],
    }
    for role, paths in pages.items():
        browser = as_role(role)
        for path in paths:
            response = browser.get(path)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, path
            assert XSS not in html, path
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html, path
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            _no_inline_code(html, path)


def _no_inline_code(html: str, path: str) -> None:
    """CSP-friendly: scripts only from files (JSON data blocks aside), no on* attributes."""
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
    assert not re.search(r"\son[a-z]+\s*=", html), path
    assert "style=" not in html, path


def test_approve_then_launch_then_cancel(backend: str, as_role: Any, redis: Any,
                                         people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst)
    approver = as_role("approver")
    review = approver.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert c.snapshot_hash in review and "Đây là phiên bản gửi duyệt đầu tiên." in review
    stale = approver.post(f"/approvals/{c.id}", {"decision": "approve", "snapshot_hash": "old"})
    assert stale.status_code == 422
    assert "Không phải phiên bản hiện tại." in stale.get_data(as_text=True)
    ok = approver.post(f"/approvals/{c.id}", {"decision": "approve",
                                              "snapshot_hash": c.snapshot_hash})
    assert ok.headers["Location"] == f"/campaigns/{c.id}"
    assert c.status is CampaignStatus.APPROVED and c.approved_by_id == people["approver"].id
    editor = as_role("editor")
    confirm = editor.get(f"/campaigns/{c.id}/confirm/launch").get_data(as_text=True)
    assert "confirm-button" in confirm and "3" in confirm
    launched = editor.post(f"/campaigns/{c.id}/confirm/launch")
    assert launched.status_code == 302
    assert c.status is CampaignStatus.SENDING
    page = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert f'data-progress-url="/api/campaigns/{c.id}/progress"' in page
    # Editors may not cancel; approvers must give a reason.
    assert editor.get(f"/campaigns/{c.id}/confirm/cancel").status_code == 403
    no_reason = approver.post(f"/campaigns/{c.id}/confirm/cancel", {"reason": " "})
    assert no_reason.status_code == 422 and "Hãy nêu lý do." in no_reason.get_data(as_text=True)
    assert c.status is CampaignStatus.SENDING
    done = approver.post(f"/campaigns/{c.id}/confirm/cancel", {"reason": "Sai nội dung"})
    assert done.status_code == 302
    assert c.status is CampaignStatus.CANCELLED
    reasons = db.session.scalars(select(AuditEvent.reason).where(
        AuditEvent.action == "campaign.cancel")).all()
    assert reasons == ["Sai nội dung"]


def test_reject_needs_a_reason_and_shows_it(backend: str, as_role: Any,
                                            people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst)
    approver = as_role("approver")
    empty = approver.post(f"/approvals/{c.id}", {"decision": "reject", "reason": "",
                                                 "snapshot_hash": c.snapshot_hash})
    assert empty.status_code == 422
    assert c.status is CampaignStatus.PENDING_APPROVAL
    approver.post(f"/approvals/{c.id}", {"decision": "reject", "reason": "Thiếu số văn bản",
                                         "snapshot_hash": c.snapshot_hash})
    assert c.status is CampaignStatus.REJECTED
    page = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "Thiếu số văn bản" in page


def test_what_changed_since_the_last_submission(backend: str, as_role: Any,
                                                people: dict[str, User]) -> None:
    from dispatch.campaigns import service

    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst)
    service.update(c, {"sms_text": "Nội dung mới"}, actor=people["editor"])
    submit(c, actor=people["editor"])
    html = as_role("approver").get(f"/approvals/{c.id}").get_data(as_text=True)
    assert "So với phiên bản 1" in html
    assert "Nội dung mới" in html and helpers.SMS_TEXT in html


def test_list_filters(backend: str, as_role: Any, people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    helpers.campaign(people["editor"], lst, title="Bản nháp A")
    helpers.submitted(people["editor2"], lst, title="Chờ duyệt B")
    editor = as_role("editor")
    html = editor.get("/campaigns?status=pending_approval").get_data(as_text=True)
    assert "Chờ duyệt B" in html and "Bản nháp A" not in html
    html = editor.get(f"/campaigns?author_id={people['editor'].id}").get_data(as_text=True)
    assert "Bản nháp A" in html and "Chờ duyệt B" not in html
    html = editor.get("/campaigns?q=nháp&since=2020-01-01&until=2100-01-01").get_data(as_text=True)
    assert "Bản nháp A" in html
    assert editor.get("/campaigns?status=bogus&since=garbage").status_code == 200


def test_compose_a_survey(backend: str, as_role: Any) -> None:
    lst = helpers.contact_list()
    editor = as_role("editor")
    form = composer_form(lst.id) | {
        "reply_mode": "survey", "survey_question": "Ban co dong y?", "reply_days": "5",
        "survey_choices": "1 = Đồng ý | dong y, ok\n2 = Không đồng ý", "reply_ack": "Cam on"}
    assert editor.post("/campaigns/new", form).status_code == 302
    c = db.session.scalars(select(Campaign)).one()
    assert (c.reply_mode, c.reply_days, c.reply_ack) == ("survey", 5, "Cam on")
    assert c.survey["choices"][0] == {"key": "1", "label": "Đồng ý", "keywords": ["dong y", "ok"]}
    page = editor.get(f"/campaigns/{c.id}/edit").get_data(as_text=True)
    assert "1 = Đồng ý | dong y, ok" in page
    clash = form | {"survey_choices": "1 = Đồng ý\n2 = HUY"}
    refused = editor.post(f"/campaigns/{c.id}/edit", clash)
    assert refused.status_code in (200, 422), refused.status_code
    assert "“HUY”" in refused.get_data(as_text=True)  # the refusal names the word
    db.session.refresh(c)
    assert c.survey["choices"][1]["label"] == "Không đồng ý"  # nothing half-written


def test_reply_settings_are_refused_in_vietnamese(backend: str, as_role: Any) -> None:
    lst = helpers.contact_list()
    editor = as_role("editor")
    survey = composer_form(lst.id) | {"reply_mode": "survey", "reply_days": "7"}

    def refusals(**over: str) -> str:
        response = editor.post("/campaigns/new", survey | over)
        assert response.status_code == 422, response.status_code
        found = re.search(r'<p class="error" id="survey-error">(.*?)</p>',
                          response.get_data(as_text=True), re.S)
        assert found, response.get_data(as_text=True)[:3000]
        return found.group(1)

    empty = refusals(survey_question="", survey_choices="1 = Đồng ý")
    assert "Khảo sát cần có câu hỏi." in empty
    assert "Khảo sát cần ít nhất hai phương án trả lời." in empty
    clash = refusals(survey_question="Ban co dong y?",
                     survey_choices="1 = Đồng ý | dong y\n2 = Tu choi\n3 = Khác | Đồng ý\n1 = Lặp")
    assert ("“Tu choi” là từ khoá từ chối nhận tin: ai trả lời như vậy sẽ bị ngừng gửi tin."
            in clash)
    assert "“Đồng ý” đã là cách trả lời phương án 1." in clash
    assert "Hai phương án cùng mã “1”." in clash
    many = refusals(survey_question="Ban co dong y?",
                    survey_choices="\n".join(f"{n} = Phương án {n}" for n in range(1, 12)))
    assert "Tối đa 9 phương án" in many
    blank = refusals(survey_question="Ban co dong y?", survey_choices="1 = Đồng ý\n= Không")
    assert "Hãy ghi mã cho phương án (1, 2, … hoặc một từ)." in blank
    label = refusals(survey_question="Ban co dong y?", survey_choices="1 = Đồng ý\n2 =")
    assert "Hãy ghi tên cho phương án." in label
    # The reply window, by the form's number field and by the API's mode.
    days = editor.post("/campaigns/new", survey | {
        "survey_question": "Ban co dong y?", "survey_choices": "1 = Có\n2 = Không",
        "reply_days": "45"}).get_data(as_text=True)
    window = re.search(r'<p class="error" id="reply_days-error">(.*?)</p>', days, re.S)
    assert window and "Phải từ 1 đến 30." in window.group(1), days[:3000]
    mode = editor.post("/campaigns/new", survey | {"reply_mode": "poll"}).get_data(as_text=True)
    assert "Must be one of" not in mode and "Phải là một trong" in mode
    assert db.session.scalar(select(Campaign.id)) is None


def test_a_failed_freeze_is_shown_to_the_authors(backend: str, as_role: Any, people: Any,
                                                 monkeypatch: Any) -> None:
    from dispatch.campaigns import frozen, service

    def broken(campaign: Any) -> Any:
        raise ValueError("no count")

    c = helpers.campaign(people["editor"], helpers.contact_list())
    service.submit(c, actor=people["editor"])
    db.session.commit()
    monkeypatch.setattr(frozen, "figures", broken)
    assert freeze_now(c.id) == "failed"
    html = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="freeze-failed"' in html
    assert "Loa không chốt được danh sách người nhận (ValueError)" in html
    assert "Không chốt được danh sách người nhận; trở về bản nháp" in html  # the timeline
    assert f'action="/campaigns/{c.id}/submit"' in html  # it can be submitted again


def test_a_freeze_the_database_keeps_failing_is_shown_while_retried_then_given_up(
        backend: str, as_role: Any, people: Any, monkeypatch: Any) -> None:
    import sqlalchemy as sa

    from dispatch import jobs
    from dispatch.campaigns import frozen, service, submission
    from dispatch.engine import enqueue

    class QueryCanceled(Exception):
        pass

    def cancelled(campaign: Any) -> Any:
        raise sa.exc.OperationalError("SELECT …", {}, QueryCanceled("statement timeout"))

    c = helpers.campaign(people["editor"], helpers.contact_list())
    service.submit(c, actor=people["editor"])
    db.session.commit()
    monkeypatch.setattr(frozen, "figures", cancelled)
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(submission, "ATTEMPTS", 2)
    editor = as_role("editor")
    with pytest.raises(sa.exc.OperationalError):
        freeze_now(c.id)
    html = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="freezing"' in html and 'id="freeze-retry"' in html
    assert ("Lần chốt danh sách người nhận thứ 1/2 bị lỗi cơ sở dữ liệu (QueryCanceled); Loa sẽ "
            "thử lại.") in html
    assert "Chưa chốt được danh sách người nhận: cơ sở dữ liệu báo lỗi; đang thử lại" in html
    assert enqueue.enqueue_freeze(c.id, False)  # the clock's
    assert freeze_now(c.id) == "failed"
    html = editor.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert 'id="freeze-failed"' in html and 'id="freeze-retry"' not in html
    assert ("Loa không chốt được danh sách người nhận: cơ sở dữ liệu báo lỗi 2 lần "
            "(QueryCanceled); chưa có tin nào được gửi.") in html
