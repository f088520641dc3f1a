"""CSRF on every state-changing page and cookie-borne API call, stored XSS through campaign
text, list names and imported CSV content, security headers and cookies in production mode.
Sign-in throttling is in test_signin_throttle.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dispatch import create_app
from dispatch.config import ConfigError
from dispatch.models import User
from tests.helpers import seed
from tests.helpers.access_matrix import DECISIONS, expand
from tests.helpers.browser import Browser
from tests.helpers.engine import freeze_now
from tests.helpers.factories import PASSWORD, token_for, upload_import

XSS = "<script>alert('x')</script>"
ATTR = '"><img src=x onerror=alert(1)>'
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def unsafe_routes(api: bool) -> list[tuple[str, str]]:
    out = []
    for (method, rule), decision in DECISIONS.items():
        if method not in UNSAFE or rule.startswith("/api/app/"):
            continue  # the province app authenticates by key, never by cookie
        if rule.startswith("/api/") == api:
            out += [(method, path) for path, _ in expand(rule, decision)]
    return sorted(out)


def test_every_page_form_needs_its_token(backend: str, app: Any,
                                         people: dict[str, User]) -> None:
    browser = Browser(app, people["admin"])
    refused = []
    for method, path in unsafe_routes(api=False):
        for token in (None, "forged-token"):
            data = {} if token is None else {"csrf_token": token}
            response = browser.client.open(path, method=method, data=data)
            if response.status_code != 400 or "csrf" not in response.get_data(as_text=True):
                refused.append(f"{method} {path} with token {token!r}: {response.status_code}")
    assert not refused, "\n".join(refused)
    assert browser.open("GET", "/").status_code == 200  # still signed in: /logout refused too


def test_cookie_borne_api_calls_need_the_header(backend: str, app: Any,
                                                people: dict[str, User]) -> None:
    browser = Browser(app, people["admin"])
    wrong = []
    for method, path in unsafe_routes(api=True):
        response = browser.client.open(path, method=method, json={})
        if response.status_code != 400 or response.json.get("code") != "csrf_failed":
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    made = browser.open("POST", "/api/lists", json={"name": "With the header"})
    assert made.status_code == 201, made.json
    # A token caller needs no CSRF token, and its cookie (if any) is never what authenticates.
    bearer = {"Authorization": f"Bearer {token_for(people['editor'])}"}
    assert browser.client.post("/api/lists", json={"name": "By token"},
                               headers=bearer).json["created_by_id"] == people["editor"].id


def test_stored_text_is_escaped_on_every_page(backend: str, app: Any, api: Any,
                                              people: dict[str, User]) -> None:
    data = seed.sample_data()
    editor = api.as_(people["editor"])
    lst = editor.post("/api/lists", json={"name": f"List {XSS}", "description": f"d {ATTR}"})
    assert lst.status_code == 201, lst.json
    csv = f"phone,name\n0912345678,Name {XSS}\n0912345679,{ATTR}\nnot-a-number,{XSS}\n"
    upload = upload_import(editor, lst.json["id"], csv.encode(), f"x{ATTR}.csv")
    assert upload.json["status"] == "completed", upload.json
    made = editor.post("/api/campaigns", json={
        "title": f"Title {XSS}", "channels": "both", "sms_text": f"Text {XSS} {ATTR}",
        "sms_sender": "HAUGIANG", "push_title": f"Push {XSS}", "push_body": f"Body {ATTR}",
        "audience": {"lists": [lst.json["id"]], "all_app_users": True}})
    assert made.status_code == 201, made.json
    cid = made.json["id"]
    submitted = editor.post(f"/api/campaigns/{cid}/submit")
    assert submitted.status_code == 200, submitted.json
    assert freeze_now(cid) == "frozen"  # the approval page then shows the snapshot
    optout = editor.post("/api/optouts", json={"address": "0912345670", "channel": "sms",
                                               "reason": f"r {XSS}"})
    assert optout.status_code in (200, 201), optout.json
    pages = {
        "editor": ["/", "/campaigns", f"/campaigns/{cid}", f"/campaigns/{data['draft'].id}/edit",
                   "/audiences/lists", f"/audiences/lists/{lst.json['id']}",
                   f"/audiences/imports/{upload.json['id']}", "/audiences/optouts",
                   f"/audiences/contacts?q={XSS}"],
        "approver": ["/approvals", f"/approvals/{cid}", "/admin/audit"],
        "admin": ["/admin/users", "/admin/audit", f"/campaigns/{cid}"],
    }
    shown = 0
    for role, paths in pages.items():
        browser = Browser(app, people[role])
        for path in paths:
            response = browser.open("GET", path)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, (role, path, response.status_code)
            assert XSS not in html and ATTR not in html, (role, path)
            assert not re.search(r"<img[^>]*onerror", html), (role, path)
            for tag in re.findall(r"<script\b[^>]*>", html):
                assert "src=" in tag or 'type="application/json"' in tag, (role, path, tag)
            shown += html.count("&lt;script&gt;")
    assert shown >= 10  # the payloads were on the pages, escaped


def test_exports_neutralise_formulas(backend: str, app: Any, api: Any,
                                     people: dict[str, User]) -> None:
    from dispatch.reports.export import safe_text

    for text in ("=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)"):
        assert safe_text(text).startswith("'"), text


def production_app(database_url: str, redis_url: str, tmp_path: Any, monkeypatch: Any) -> Any:
    monkeypatch.setenv("LOA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key-for-this-test")
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                       "INSTANCE_PATH": str(tmp_path), "LOG_SETUP": False,
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def test_production_mode_headers_and_cookies(backend: str, app: Any, database_url: str,
                                             redis_url: str, people: dict[str, User],
                                             tmp_path: Any, monkeypatch: Any) -> None:
    prod = production_app(database_url, redis_url, tmp_path, monkeypatch)
    client = prod.test_client()
    login = client.get("/login", base_url="https://loa.example")
    token = re.search(r'name="csrf-token" content="([^"]+)"', login.get_data(as_text=True))
    assert token
    csp = login.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert login.headers["X-Frame-Options"] == "DENY"
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    assert login.headers["Referrer-Policy"] == "same-origin"
    form = {"username": people["editor"].username, "password": PASSWORD,
            "csrf_token": token.group(1)}
    # Over HTTPS the CSRF check also wants a Referer from this site (Flask-WTF's SSL strict).
    foreign = client.post("/login", base_url="https://loa.example", data=form,
                          headers={"Referer": "https://evil.example/"})
    assert foreign.status_code == 400
    signed_in = client.post("/login", base_url="https://loa.example", data=form,
                            headers={"Referer": "https://loa.example/login"})
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[:300]
    cookies = signed_in.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("loa_session="))
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session, session
    assert not [c for c in cookies if c.startswith("remember_token=")]
    api = client.get("/api/me", base_url="https://loa.example")
    assert api.status_code == 200 and api.headers["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: Any) -> None:
    monkeypatch.setenv("LOA_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"LOG_SETUP": False})
