"""Callers for the security tests: a person at a browser (session + CSRF) and token callers."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from dispatch.models import User
from tests.helpers.factories import PASSWORD

META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Browser:
    """A test client that signs in through /login and sends the page's CSRF token."""

    def __init__(self, app: Flask, user: User | None = None) -> None:
        self.client = app.test_client()
        self.token = ""
        self.refresh("/login")
        if user is not None:
            response = self.client.post("/login", data={
                "username": user.username, "password": PASSWORD, "csrf_token": self.token})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            self.refresh("/account/password")

    def refresh(self, path: str) -> str:
        found = META.search(self.client.get(path).get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        self.token = found.group(1)
        return self.token

    def open(self, method: str, path: str, *, csrf: bool = True, **kw: Any) -> TestResponse:
        if method in ("POST", "PUT", "PATCH", "DELETE") and csrf:
            if path.startswith("/api/"):
                kw.setdefault("headers", {})["X-CSRFToken"] = self.token
            else:
                kw.setdefault("data", {})["csrf_token"] = self.token
        return self.client.open(path, method=method, **kw)
