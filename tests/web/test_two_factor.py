"""The optional second factor: enrolment, sign-in with a code, replay, and the setting that
requires it for approvers and admins."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from dispatch.extensions import db
from dispatch.models import User
from tests.helpers.factories import PASSWORD
from tests.helpers.web import Pages


def enrol(browser: Pages) -> pyotp.TOTP:
    """Set the factor up as a person would: read the key off the page, type a code back."""
    page = browser.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    key = page.split('id="totp-key">')[1].split("<")[0]
    otp = pyotp.TOTP(key)
    done = browser.post("/account/two-factor", {"code": otp.now()})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return otp


def next_code(otp: pyotp.TOTP) -> str:
    """A code of the next 30-second step (accepted: phones drift), never used before."""
    return otp.at(int(time.time()) + 30)


@pytest.fixture()
def required(app: Any) -> Iterator[None]:
    app.config["REQUIRE_2FA"] = True
    yield
    app.config["REQUIRE_2FA"] = False


def test_enrol_then_sign_in_with_a_code(backend: str, app: Any, people: dict[str, User],
                                        as_role: Any) -> None:
    editor, other = as_role("editor"), as_role("editor")
    assert editor.post("/account/two-factor", {"code": "000000"}).status_code == 422
    otp = enrol(editor)
    assert people["editor"].totp_enabled_at is not None
    assert editor.get("/").status_code == 200
    assert other.get("/").status_code == 302  # it never gave a code
    browser = Pages(app.test_client())
    first = browser.sign_in("editor1")
    assert first.headers["Location"].endswith("/login/code")
    assert browser.get("/").status_code == 302  # a password alone opens nothing
    assert browser.client.get("/api/me").status_code == 401
    browser.refresh_token("/login/code")
    wrong = browser.post("/login/code", {"code": "123456"})
    assert wrong.status_code == 401 and "Mã sai" in wrong.get_data(as_text=True)
    code = next_code(otp)
    assert browser.post("/login/code", {"code": code}).status_code == 302
    assert browser.get("/").status_code == 200
    # The same code, seen over a shoulder, does not open a second session.
    thief = Pages(app.test_client())
    assert thief.sign_in_with_code("editor1", code).status_code == 401


def test_a_password_alone_cannot_mint_tokens_for_such_an_account(
        backend: str, app: Any, api: Any, people: dict[str, User], as_role: Any) -> None:
    enrol(as_role("approver"))
    raw = base64.b64encode(f"approver1:{PASSWORD}".encode()).decode()
    refused = api.post("/api/tokens", json={"name": "x"},
                       headers={"Authorization": f"Basic {raw}"})
    assert refused.status_code == 403 and refused.json["code"] == "two_factor_required"


def test_the_setting_requires_it_of_approvers_and_admins(backend: str, app: Any, required: None,
                                                         people: dict[str, User]) -> None:
    approver = Pages(app.test_client())
    response = approver.sign_in(people["approver"])
    assert response.headers["Location"].startswith("/account/two-factor")
    assert approver.get("/approvals").headers["Location"].startswith("/account/two-factor")
    refused = approver.client.get("/api/me")
    assert refused.status_code == 403 and refused.json["code"] == "two_factor_required"
    page = approver.get("/account/two-factor").get_data(as_text=True)
    assert "Vai trò của bạn yêu cầu xác thực hai lớp" in page
    otp = enrol(approver)
    assert approver.get("/approvals").status_code == 200
    # Required means it cannot be turned off by its owner.
    kept = approver.post("/account/two-factor", {"action": "disable", "code": next_code(otp)})
    assert kept.status_code == 422 and people["approver"].totp_enabled_at is not None
    # Editors are not asked.
    editor = Pages(app.test_client())
    assert editor.sign_in(people["editor"]).headers["Location"] == "/"


def test_an_admin_resets_a_lost_phone(backend: str, app: Any, people: dict[str, User],
                                      as_role: Any) -> None:
    approver = as_role("approver")
    enrol(approver)
    admin = as_role("admin")
    user_id = people["approver"].id
    assert "Đặt lại xác thực hai lớp" in admin.get(f"/admin/users/{user_id}").get_data(
        as_text=True)
    assert admin.post(f"/admin/users/{user_id}/reset-two-factor").status_code == 302
    db.session.refresh(people["approver"])
    assert people["approver"].totp_enabled_at is None
    assert approver.get("/").status_code == 302
    assert Pages(app.test_client()).sign_in(people["approver"]).headers["Location"] == "/"


def test_the_owner_turns_it_off_with_a_code(backend: str, app: Any, people: dict[str, User],
                                            as_role: Any) -> None:
    editor = as_role("editor")
    otp = enrol(editor)
    assert editor.post("/account/two-factor", {"action": "disable",
                                               "code": "000000"}).status_code == 422
    off = editor.post("/account/two-factor", {"action": "disable", "code": next_code(otp)})
    assert off.status_code == 302 and people["editor"].totp_enabled_at is None
    assert editor.get("/").status_code == 200


def test_secrets_rotate_keeps_second_factors_working(backend: str, app: Any,
                                                     people: dict[str, User],
                                                     as_role: Any) -> None:
    otp = enrol(as_role("editor"))
    old = (Path(app.instance_path) / "secrets.key").read_text().strip()
    new = Fernet.generate_key().decode()
    app.config["SECRETS_KEY"] = f"{new},{old}"
    try:
        result = CliRunner().invoke(app.cli, ["secrets", "rotate"])
        assert result.exit_code == 0 and "1 two-factor secret" in result.output, result.output
        app.config["SECRETS_KEY"] = new  # the old key is gone: codes still check
        browser = Pages(app.test_client())
        assert browser.sign_in_with_code("editor1", next_code(otp)).status_code == 302
        assert browser.get("/").status_code == 200
    finally:
        app.config["SECRETS_KEY"] = None
