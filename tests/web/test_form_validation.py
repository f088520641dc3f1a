"""The forms refuse what the API refuses, with the API's rule, next to the field, in Vietnamese.

Each form goes through the API's marshmallow schema (dispatch.web.forms.load): a 5,000-character
list name, a NUL or a 100,000-character reason is a 422 on the page, stored nowhere, on SQLite as
on PostgreSQL (where it used to be a 500).
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import ApiToken, ContactList, OptOut, User
from tests.helpers import web as helpers

LONG = "x" * 5000
HUGE = "lý do " * 17_000  # 102,000 characters


def _field_error(page: Any, name: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>',
                      page.get_data(as_text=True), re.S)
    assert found, f"no error shown next to {name!r}"
    return html.unescape(found.group(1))


@pytest.mark.parametrize(("value", "shown"), [
    (LONG, "Độ dài phải từ 1 đến 200 ký tự."),
    ("Cử tri\x00", "Có ký tự NUL (không hợp lệ)."),
    ("Cử tri\nVị Thanh", "Có ký tự xuống dòng (U+000A): ô này chỉ nhận một dòng."),
])
def test_list_name_is_checked_like_the_api(backend: str, as_role: Any, api: Any,
                                           people: dict[str, User], value: str,
                                           shown: str) -> None:
    page = as_role("editor").post("/audiences/lists", {"name": value})
    assert page.status_code == 422
    assert _field_error(page, "name") == shown
    refused = api.as_(people["editor"]).post("/api/lists", json={"name": value})
    assert refused.status_code == 422 and "name" in refused.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(ContactList)) == 0


def test_list_name_typed_decomposed_is_stored_composed(backend: str, as_role: Any) -> None:
    name = unicodedata.normalize("NFD", "Cử tri Ngã Bảy")
    assert as_role("editor").post("/audiences/lists", {"name": name}).status_code == 302
    assert db.session.scalars(select(ContactList.name)).one() == "Cử tri Ngã Bảy"


def test_opt_out_reasons_are_bounded(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    page = editor.post("/audiences/optouts", {"channel": "sms", "address": "0912345678",
                                              "reason": HUGE})
    assert page.status_code == 422
    assert _field_error(page, "reason") == "Dài quá 2000 ký tự."
    added = editor.post("/audiences/optouts", {"channel": "sms", "address": "0912345678",
                                               "reason": "Gọi điện đề nghị"})
    assert added.status_code == 302
    opt_out = db.session.scalars(select(OptOut)).one()
    lift = editor.post(f"/audiences/optouts/{opt_out.id}/remove", {"reason": HUGE})
    assert lift.status_code == 422
    assert _field_error(lift, "reason") == "Độ dài phải từ 1 đến 2000 ký tự."
    assert editor.post(f"/audiences/optouts/{opt_out.id}/remove",
                       {"reason": ""}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(OptOut)) == 1


@pytest.mark.parametrize(("form", "field", "shown"), [
    ({"name": LONG}, "name", "Độ dài phải từ 1 đến 120 ký tự."),
    ({"name": "script\x00"}, "name", "Có ký tự NUL (không hợp lệ)."),
    ({"name": "cron", "days": "²"}, "days",
     "Hãy nhập số ngày từ 1 đến 3650, hoặc để trống."),
    ({"name": "cron", "days": "9" * 5000}, "days", None),
])
def test_token_form(backend: str, as_role: Any, form: dict[str, str], field: str,
                    shown: str | None) -> None:
    page = as_role("editor").post("/account/tokens", form)
    assert page.status_code == 422
    message = _field_error(page, field)
    if shown:
        assert message == shown
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_settings_form_refuses_nul_and_huge_numbers(backend: str, as_role: Any) -> None:
    admin = as_role("admin")
    assert admin.post("/admin/settings/opt_out_keywords",
                      {"keywords": "HUY\x00"}).status_code == 422
    prices = {"viettel": "²", "vinaphone": "9" * 5000, "mobifone": "250", "vietnamobile": "250",
              "gmobile": "250", "itelecom": "250", "other": "250"}
    assert admin.post("/admin/settings/sms_price_per_part", prices).status_code == 422
    assert admin.post("/admin/settings/recipient_cap",
                      {"max_campaigns": "³", "hours": "24"}).status_code == 422


def test_campaign_reasons_on_the_confirm_and_review_pages(backend: str, as_role: Any,
                                                          people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor"], lst)
    review = as_role("approver").post(f"/approvals/{c.id}", {
        "decision": "reject", "reason": HUGE, "snapshot_hash": c.snapshot_hash})
    assert review.status_code == 422
    assert _field_error(review, "reason") == "Dài quá 2000 ký tự."
    approved = helpers.approved(people["editor"], people["approver2"], lst)
    approver = as_role("approver")
    for reason, shown in ((HUGE, "Dài quá 2000 ký tự."), ("x\x00", "Có ký tự NUL (không hợp lệ).")):
        cancel = approver.post(f"/campaigns/{approved.id}/confirm/cancel", {"reason": reason})
        assert cancel.status_code == 422
        assert _field_error(cancel, "reason") == shown
    db.session.refresh(approved)
    assert approved.status.value == "approved"


def test_composer_refuses_a_javascript_link(backend: str, as_role: Any, api: Any,
                                            people: dict[str, User]) -> None:
    form = {"title": "Tin", "channels": "push", "push_title": "T", "push_body": "B",
            "all_app_users": "on", "window_start": "07:00", "window_end": "22:00",
            "validity_hours": "²", "push_link": "javascript:alert(1)",
            "send_at": "9999-12-31T23:59"}
    page = as_role("editor").post("/campaigns/new", form)
    assert page.status_code == 422
    assert _field_error(page, "push_link").startswith("Nhập liên kết bắt đầu bằng")
    assert _field_error(page, "send_at") == "Nhập ngày trong khoảng từ năm 2000 đến năm 2100."
    assert "validity_hours" in page.get_data(as_text=True)
    editor = api.as_(people["editor"])
    for link, status in (("javascript:alert(1)", 422), ("JavaScript://x%0Aalert(1)", 422),
                         ("data:text/html,x", 422), ("https://haugiang.gov.vn/tin/1", 201),
                         ("http://haugiang.gov.vn/tin/1", 201), ("haugiang://tin/1", 201)):
        response = editor.post("/api/campaigns", json={
            "title": "Tin", "channels": "push", "push_link": link})
        assert response.status_code == status, (link, response.json)


def test_next_with_a_control_character_is_refused(backend: str, pages: Any) -> None:
    for target in ("/%0A", "/%0D%0ALocation:%20https://evil.example", "/%09x", "/\\evil"):
        response = pages.get(f"/lang/en?next={target}")
        assert response.status_code == 302
        assert response.headers["Location"] == "/", target
