"""Sign-in, sign-out, password changes and the one-time password, through the pages."""

from __future__ import annotations

from typing import Any

from dispatch.access import users
from dispatch.extensions import db
from dispatch.models import User
from tests.helpers.factories import PASSWORD
from tests.helpers.web import Pages

REFUSED_VI = "Sai tên đăng nhập hoặc mật khẩu"


def test_the_pages_open_to_an_unfinished_sign_in_send_nobody_to_sign_in(
        backend: str, pages: Pages) -> None:
    # The password and second-factor pages let in an account that still has to change its
    # password or set up its codes, but not a browser signed in as nobody.
    for path in ("/account/password", "/account/two-factor"):
        assert pages.get(path).headers["Location"] == f"/login?next={path}"
    assert pages.get("/account/two-factor?next=/approvals").headers["Location"] == \
        "/login?next=/account/two-factor?next%3D/approvals"


def test_sign_in_goes_where_it_was_asked(backend: str, pages: Pages,
                                         people: dict[str, User]) -> None:
    first = pages.get("/campaigns?status=draft")
    assert first.headers["Location"] == "/login?next=/campaigns?status%3Ddraft"
    pages.refresh_token("/login")
    response = pages.post("/login", {"username": "EDITOR1", "password": PASSWORD,
                                     "next": "/campaigns?status=draft"})
    assert response.headers["Location"] == "/campaigns?status=draft"
    assert people["editor"].last_login_at is not None


def test_next_never_leaves_the_site(backend: str, pages: Pages, people: dict[str, User]) -> None:
    pages.refresh_token("/login")
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = pages.post("/login", {"username": "editor1", "password": PASSWORD,
                                         "next": target})
        assert response.headers["Location"] == "/", target
        pages.refresh_token("/login")


def test_a_wrong_password_is_refused_without_saying_which_part(backend: str, pages: Pages,
                                                               people: dict[str, User]) -> None:
    pages.refresh_token("/login")
    response = pages.post("/login", {"username": "editor1", "password": "wrong password"})
    assert response.status_code == 401
    assert REFUSED_VI in response.get_data(as_text=True)
    assert pages.get("/").status_code == 302


def test_one_time_password_must_be_changed_first(backend: str, app: Any,
                                                 people: dict[str, User]) -> None:
    admin = people["admin"]
    user, one_time = users.create_user("newbie", ["editor"], actor=admin)
    db.session.commit()
    browser = Pages(app.test_client())
    response = browser.sign_in("newbie", one_time or "")
    assert response.headers["Location"].startswith("/account/password")
    assert browser.get("/").headers["Location"] == "/account/password"
    short = browser.post("/account/password", {"current_password": one_time,
                                                "new_password": "short",
                                                "confirm_password": "short"})
    assert short.status_code == 422
    assert "12" in short.get_data(as_text=True)
    done = browser.post("/account/password", {"current_password": one_time,
                                               "new_password": "a much longer one",
                                               "confirm_password": "a much longer one"})
    assert done.status_code == 302
    assert browser.get("/").status_code == 200
    assert not user.must_change_password


def test_changing_the_password_ends_other_sessions(backend: str, app: Any,
                                                   people: dict[str, User]) -> None:
    desk, phone = Pages(app.test_client()), Pages(app.test_client())
    desk.sign_in(people["editor"])
    phone.sign_in(people["editor"])
    response = desk.post("/account/password", {"current_password": PASSWORD,
                                               "new_password": "another long secret",
                                               "confirm_password": "another long secret"})
    assert response.status_code == 302
    assert desk.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert phone.client.get("/api/me").status_code == 401


def test_api_tokens_page(backend: str, as_role: Any, people: dict[str, User]) -> None:
    editor = as_role("editor")
    created = editor.post("/account/tokens", {"name": "báo cáo", "days": "30"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and 'id="new-token"' in html
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert editor.client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).json[
        "username"] == "editor1"
    token_id = people["editor"].tokens[0].id
    assert editor.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert editor.client.get("/api/me",
                             headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    again = editor.get("/account/tokens").get_data(as_text=True)
    assert secret not in again
