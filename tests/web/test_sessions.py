"""Sessions live on the server: a saved cookie dies with its session, whoever ends it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from dispatch.access import sessions
from dispatch.extensions import db
from dispatch.models import ApiToken, User, UserSession
from dispatch.models.common import utcnow
from tests.helpers.factories import PASSWORD, token_for
from tests.helpers.web import Pages

PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
DESK = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def saved_cookie(browser: Pages) -> str:
    cookie = browser.client.get_cookie("loa_session")
    assert cookie is not None
    return cookie.value


def replay(app: Any, cookie: str, path: str) -> Any:
    """What an attacker holding a copy of the cookie gets from `path`."""
    thief = app.test_client()
    thief.set_cookie("loa_session", cookie)
    return thief.get(path)


def live_sessions(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None))) or 0


def test_a_cookie_saved_before_sign_out_opens_nothing_after(backend: str, app: Any,
                                                            as_role: Any) -> None:
    editor = as_role("editor")
    cookie = saved_cookie(editor)
    assert replay(app, cookie, "/").status_code == 200
    assert replay(app, cookie, "/api/me").status_code == 200
    assert editor.post("/logout").status_code == 302
    page = replay(app, cookie, "/campaigns")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = replay(app, cookie, "/api/me")
    assert api.status_code == 401 and api.json["code"] == "not_authenticated"


def test_the_cookie_carries_a_token_not_the_account(backend: str, app: Any,
                                                    people: dict[str, User],
                                                    as_role: Any) -> None:
    editor = as_role("editor")
    with editor.client.session_transaction() as cookie:
        token = cookie["_user_id"]
    assert str(people["editor"].id) not in token.split(":")
    stored = db.session.scalars(select(UserSession.token_hash)).all()
    assert stored and token not in stored and len(token) >= 40


def test_changing_the_password_ends_other_sessions_and_may_revoke_tokens(
        backend: str, app: Any, people: dict[str, User]) -> None:
    editor = people["editor"]
    desk, phone = Pages(app.test_client()), Pages(app.test_client())
    desk.sign_in(editor)
    phone.sign_in(editor)
    phone_cookie = saved_cookie(phone)
    secret = token_for(editor)
    done = desk.post("/account/password", {"current_password": PASSWORD,
                                           "new_password": "another long secret",
                                           "confirm_password": "another long secret",
                                           "revoke_tokens": "on"})
    assert done.status_code == 302
    assert desk.get("/").status_code == 200
    assert replay(app, phone_cookie, "/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers={
        "Authorization": f"Bearer {secret}"}).status_code == 401
    assert live_sessions(editor) == 1


def test_changing_the_password_keeps_tokens_unless_asked(backend: str, app: Any,
                                                        people: dict[str, User]) -> None:
    editor = people["editor"]
    desk = Pages(app.test_client())
    desk.sign_in(editor)
    secret = token_for(editor)
    desk.post("/account/password", {"current_password": PASSWORD,
                                    "new_password": "another long secret",
                                    "confirm_password": "another long secret"})
    assert app.test_client().get("/api/me", headers={
        "Authorization": f"Bearer {secret}"}).status_code == 200


def test_the_api_password_change_asks_about_tokens(backend: str, app: Any, api: Any,
                                                   people: dict[str, User]) -> None:
    editor = people["editor"]
    browser = Pages(app.test_client())
    browser.sign_in(editor)
    caller = api.as_(editor)
    changed = caller.put("/api/me/password", json={
        "current_password": PASSWORD, "new_password": "another long secret",
        "revoke_tokens": True})
    assert changed.status_code == 204
    assert browser.get("/").status_code == 302
    assert caller.get("/api/me").status_code == 401  # its own token went too


def test_disabling_a_user_ends_their_sessions_and_tokens(backend: str, app: Any, api: Any,
                                                         people: dict[str, User],
                                                         as_role: Any) -> None:
    editor = as_role("editor")
    cookie = saved_cookie(editor)
    secret = token_for(people["editor"])
    admin = as_role("admin")
    saved = admin.post(f"/admin/users/{people['editor'].id}", {
        "full_name": "", "email": "", "roles": "editor"})  # "active" left unticked
    assert saved.status_code == 302
    assert replay(app, cookie, "/").status_code == 302
    assert app.test_client().get("/api/me", headers={
        "Authorization": f"Bearer {secret}"}).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == people["editor"].id, ApiToken.revoked_at.is_(None))) == 0
    # Turned back on, the account signs in afresh; nothing old comes back to life.
    people["editor"].active = True
    db.session.commit()
    assert replay(app, cookie, "/api/me").status_code == 401
    assert Pages(app.test_client()).sign_in(people["editor"]).status_code == 302


def test_an_admin_signs_a_user_out_everywhere(backend: str, app: Any, api: Any,
                                              people: dict[str, User], as_role: Any) -> None:
    one, two = as_role("editor"), as_role("editor")
    cookies = [saved_cookie(one), saved_cookie(two)]
    admin = as_role("admin")
    page = admin.get(f"/admin/users/{people['editor'].id}").get_data(as_text=True)
    assert "Đăng xuất khỏi mọi nơi" in page
    assert admin.post(f"/admin/users/{people['editor'].id}/sessions/end").status_code == 302
    assert [replay(app, c, "/api/me").status_code for c in cookies] == [401, 401]
    assert admin.get("/").status_code == 200
    # The same through the API.
    three = as_role("editor")
    ended = api.as_(people["admin"]).delete(f"/api/users/{people['editor'].id}/sessions")
    assert ended.status_code == 200 and ended.json == {"ended": 1}
    assert three.get("/").status_code == 302


def test_the_sessions_page_lists_and_ends_them(backend: str, app: Any,
                                               people: dict[str, User]) -> None:
    phone = Pages(app.test_client(), address="203.0.113.9", agent=PHONE)
    desk = Pages(app.test_client(), address="198.51.100.7", agent=DESK)
    phone.sign_in(people["editor"])
    desk.sign_in(people["editor"])
    html = desk.get("/account/sessions").get_data(as_text=True)
    assert "203.0.113.9" in html and "198.51.100.7" in html
    assert "Chrome / Android" in html and "Chrome / Windows" in html
    listed = desk.client.get("/api/me/sessions").json
    assert [s["current"] for s in listed].count(True) == 1
    phone_id = next(s["id"] for s in listed if s["ip"] == "203.0.113.9")
    assert desk.post(f"/account/sessions/{phone_id}/end").status_code == 302
    assert phone.get("/").status_code == 302
    assert desk.get("/").status_code == 200
    # "Sign out everywhere else" keeps this browser.
    again = Pages(app.test_client())
    again.sign_in(people["editor"])
    assert desk.post("/account/sessions/end-others").status_code == 302
    assert again.get("/").status_code == 302 and desk.get("/").status_code == 200
    # Someone else's session cannot be ended by id.
    other = Pages(app.test_client())
    other.sign_in(people["editor2"])
    theirs = other.client.get("/api/me/sessions").json[0]["id"]
    assert desk.client.delete(f"/api/me/sessions/{theirs}",
                              headers={"X-CSRFToken": desk.token}).status_code == 404
    assert other.get("/").status_code == 200


def _move(user: User, **back: timedelta) -> None:
    """Age the user's sessions as if time had passed."""
    for record in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        for column, delta in back.items():
            setattr(record, column, getattr(record, column) - delta)
    db.session.commit()


def test_idle_sessions_end(backend: str, app: Any, people: dict[str, User],
                           as_role: Any) -> None:
    editor = as_role("editor")
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    _move(people["editor"], last_seen_at=idle - timedelta(minutes=2))
    assert editor.get("/").status_code == 200  # still inside the idle time: a page view
    _move(people["editor"], last_seen_at=idle + timedelta(seconds=5))
    response = editor.get("/campaigns")
    assert response.headers["Location"].startswith("/login")
    page = editor.get(response.headers["Location"])
    assert page.status_code == 200 and "Phiên làm việc đã kết thúc" in page.get_data(as_text=True)
    assert editor.client.get("/api/me").status_code == 401
    ended = db.session.scalars(select(UserSession.end_reason)).all()
    assert ended == ["idle"]


def test_old_sessions_end_however_busy(backend: str, app: Any, people: dict[str, User],
                                       as_role: Any) -> None:
    editor = as_role("editor")
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    _move(people["editor"], created_at=lifetime + timedelta(seconds=1))
    assert editor.get("/campaigns").headers["Location"].startswith("/login")
    assert db.session.scalars(select(UserSession.end_reason)).all() == ["expired"]


def test_polling_neither_keeps_a_session_alive_nor_writes(backend: str, app: Any,
                                                          people: dict[str, User],
                                                          as_role: Any) -> None:
    editor = as_role("editor")
    _move(people["editor"], last_seen_at=timedelta(seconds=100))
    record = db.session.scalars(select(UserSession)).one()
    before = record.last_seen_at
    assert editor.client.get("/api/me").status_code == 200
    db.session.refresh(record)
    assert record.last_seen_at == before
    editor.get("/")
    db.session.refresh(record)
    seen = record.last_seen_at
    assert seen > before
    # Another page view within the minute writes nothing.
    editor.get("/campaigns")
    db.session.refresh(record)
    assert record.last_seen_at == seen
    assert seen - before < timedelta(seconds=100) + sessions.TOUCH_EVERY


def test_deactivated_users_are_signed_out(backend: str, as_role: Any,
                                          people: dict[str, User]) -> None:
    editor = as_role("editor")
    people["editor"].active = False
    db.session.commit()
    assert editor.get("/").status_code == 302
    assert db.session.scalars(select(UserSession.end_reason)).all() == ["user_disabled"]


def test_ended_sessions_are_cleared_after_a_month(backend: str, app: Any,
                                                  people: dict[str, User]) -> None:
    browser = Pages(app.test_client())
    browser.sign_in(people["editor"])
    browser.post("/logout")
    _move(people["editor"], ended_at=timedelta(days=31))
    Pages(app.test_client()).sign_in(people["editor"])
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
    assert utcnow() - db.session.scalars(select(UserSession)).one().created_at < timedelta(
        minutes=1)


def test_signing_in_over_a_session_ends_the_old_one(backend: str, app: Any,
                                                    people: dict[str, User]) -> None:
    browser = Pages(app.test_client())
    browser.sign_in(people["editor"])
    old = saved_cookie(browser)
    browser.sign_in(people["editor2"])  # a shared desk: the next person signs in
    assert replay(app, old, "/api/me").status_code == 401
    assert browser.client.get("/api/me").json["username"] == "editor2"
    assert live_sessions(people["editor"]) == 0
