"""Data for the page tests, made through the services the pages call."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.models import Campaign, ContactList, User
from tests.helpers import engine
from tests.helpers.factories import PASSWORD, SMS_TEXT, contact_list  # noqa: F401 (as helpers.*)


def campaign(author: User, lst: ContactList, **over: Any) -> Campaign:
    data: dict[str, Any] = {"title": "Thông báo Đại hội", "channels": "sms", "sms_text": SMS_TEXT,
                            "sms_sender": "HAUGIANG", "audience": {"lists": [lst.id]}}
    c = service.create(data | over, actor=author)
    db.session.commit()
    return c


def submitted(author: User, lst: ContactList, **over: Any) -> Campaign:
    c = campaign(author, lst, **over)
    return engine.submit(c, actor=author)


def approved(author: User, approver: User, lst: ContactList, **over: Any) -> Campaign:
    c = submitted(author, lst, **over)
    service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
    db.session.commit()
    return c


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
