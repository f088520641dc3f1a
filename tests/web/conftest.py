"""Fixtures for the page tests: a signed-in test client that carries the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dispatch.models import User
from tests.factories import PASSWORD

META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Pages:
    """A person at a browser: signs in, reads pages, posts forms with the page's CSRF token."""

    def __init__(self, client: FlaskClient, *, address: str | None = None,
                 agent: str | None = None) -> None:
        self.client = client
        self.token = ""
        # Where the browser is: the address sign-in throttling counts against.
        if address:
            client.environ_base["REMOTE_ADDR"] = address
        if agent:
            client.environ_base["HTTP_USER_AGENT"] = agent

    def sign_in(self, user: User | str, password: str = PASSWORD) -> TestResponse:
        username = user if isinstance(user, str) else user.username
        self.refresh_token("/login")
        response = self.client.post("/login", data={"username": username, "password": password,
                                                    "csrf_token": self.token})
        if response.status_code == 302 and not response.headers["Location"].endswith("/code"):
            self.refresh_token("/account/password")
        return response

    def sign_in_with_code(self, user: User | str, code: str,
                          password: str = PASSWORD) -> TestResponse:
        """Sign in to an account with a second factor: password, then the phone's code."""
        first = self.sign_in(user, password)
        assert first.headers.get("Location", "").endswith("/login/code"), first.status_code
        self.refresh_token("/login/code")
        response = self.client.post("/login/code", data={"code": code,
                                                         "csrf_token": self.token})
        if response.status_code == 302:
            self.refresh_token("/account/password")
        return response

    def refresh_token(self, path: str = "/account/password") -> str:
        page = self.client.get(path)
        found = META.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {path} ({page.status_code})"
        self.token = found.group(1)
        return self.token

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
             **kw: Any) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.token)
        return self.client.post(path, data=form, **kw)


@pytest.fixture()
def pages(client: FlaskClient) -> Pages:
    return Pages(client)


@pytest.fixture()
def as_role(app: Any, people: dict[str, User]) -> Any:
    """`as_role("editor")`: a fresh signed-in client for that person."""

    def sign(role: str) -> Pages:
        browser = Pages(app.test_client())
        response = browser.sign_in(people[role])
        assert response.status_code == 302, response.get_data(as_text=True)
        return browser

    return sign
