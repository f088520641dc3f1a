"""CSRF: every page form needs its token; API calls need it only when they ride on the cookie."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import ContactList, User
from tests.helpers.factories import PASSWORD, make_user, token_for
from tests.helpers.web import Pages


def test_a_page_form_without_its_token_is_refused(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    response = editor.post("/audiences/lists", {"name": "Không token"}, csrf=False)
    assert response.status_code == 400
    assert "csrf" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(ContactList.id)) is None
    wrong = editor.post("/audiences/lists", {"name": "Sai token", "csrf_token": "forged"})
    assert wrong.status_code == 400
    ok = editor.post("/audiences/lists", {"name": "Có token"})
    assert ok.status_code == 302
    assert db.session.scalar(select(ContactList.name)) == "Có token"


def test_sign_in_needs_the_token_too(backend: str, pages: Pages, people: dict[str, User]) -> None:
    response = pages.post("/login", {"username": "editor1", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert pages.get("/").status_code == 302  # still signed out


def test_sign_out_needs_the_token(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    assert editor.post("/logout", csrf=False).status_code == 400
    assert editor.get("/").status_code == 200
    assert editor.post("/logout").status_code == 302
    assert editor.get("/").status_code == 302


def test_session_api_calls_need_the_header(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    body = {"text": "Đại hội"}
    refused = editor.client.post("/api/preview/sms", json=body)
    assert refused.status_code == 400
    assert refused.json["code"] == "csrf_failed"
    created = editor.client.post("/api/lists", json={"name": "Qua phiên"})
    assert created.status_code == 400
    assert db.session.scalar(select(ContactList.id)) is None
    ok = editor.client.post("/api/preview/sms", json=body, headers={"X-CSRFToken": editor.token})
    assert ok.status_code == 200, ok.json
    assert ok.json["original"]["encoding"] == "ucs2"
    # Reads need no token.
    assert editor.client.get("/api/me").json["username"] == "editor1"


def test_token_calls_need_no_csrf_and_never_use_the_cookie(backend: str, as_role: Any,
                                                            people: dict[str, User]) -> None:
    editor = as_role("editor")  # this client also holds editor1's session cookie
    token = token_for(people["approver"])
    response = editor.client.post("/api/preview/sms", json={"text": "abc"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    me = editor.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["username"] == "approver1"
    # A bad header is refused outright: the session cookie beside it does not step in.
    bad = editor.client.get("/api/me", headers={"Authorization": "Bearer loa_wrong"})
    assert bad.status_code == 401
    empty = editor.client.post("/api/lists", json={"name": "x"},
                               headers={"Authorization": "Bearer "})
    assert empty.status_code == 401


def test_one_time_password_sessions_cannot_use_the_api(backend: str, app: Any) -> None:
    from dispatch.access import users
    user = make_user("fresh", ["editor"])
    users.reset_password(user, actor=None)  # type: ignore[arg-type]
    user.password_hash = users.hash_password(PASSWORD)  # known, still must change
    db.session.commit()
    browser = Pages(app.test_client())
    response = browser.sign_in(user)
    assert response.headers["Location"].startswith("/account/password")
    api = browser.client.get("/api/me")
    assert api.status_code == 403
    assert api.json["code"] == "password_change_required"
    assert browser.get("/campaigns").headers["Location"] == "/account/password"
