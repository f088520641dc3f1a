"""The rules of a new password, each refused on the page with a message at its field."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.access import passwords
from dispatch.models import User
from tests.helpers.factories import PASSWORD

RULES = {
    "too short": ("Tr4m-Xa!q", "Dùng ít nhất 12 ký tự."),
    "only spaces": (" " * 14, "Dùng ký tự nhìn thấy được"),
    "only invisible": ("\u200b\u200c\u200d\u2060" * 4, "Dùng ký tự nhìn thấy được"),
    "the username": ("Editor1-rất-dài-và-lạ", "Không đưa tên đăng nhập vào mật khẩu."),
    "common": ("password1234", "Mật khẩu này quá dễ đoán"),
    "keyboard row": ("qwertyuiopasdf", "Mật khẩu này quá dễ đoán"),
    "too long": ("x" * 201, "Dùng tối đa 200 ký tự."),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_refused_at_its_field(backend: str, as_role: Any,
                                           people: dict[str, User], rule: str) -> None:
    password, message = RULES[rule]
    editor = as_role("editor")
    response = editor.post("/account/password", {"current_password": PASSWORD,
                                                  "new_password": password,
                                                  "confirm_password": password})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, rule
    field = html.split('id="new_password-error">')[1].split("</p>")[0]
    assert message in field, (rule, field)
    assert passwords.matches(people["editor"].password_hash, PASSWORD)  # unchanged


def test_a_strong_password_is_taken(backend: str, as_role: Any,
                                    people: dict[str, User]) -> None:
    editor = as_role("editor")
    new = "Mùa nước nổi ở Vị Thủy"
    done = editor.post("/account/password", {"current_password": PASSWORD,
                                              "new_password": new, "confirm_password": new})
    assert done.status_code == 302
    assert passwords.matches(people["editor"].password_hash, new)


def test_an_admin_choosing_a_weak_password_is_told_at_the_field(backend: str, as_role: Any,
                                                                people: dict[str, User]) -> None:
    admin = as_role("admin")
    response = admin.post("/admin/users", {"username": "lan.nguyen", "roles": "editor",
                                           "password": "123456789012"})
    assert response.status_code == 422
    assert "Mật khẩu này quá dễ đoán" in response.get_data(as_text=True)
