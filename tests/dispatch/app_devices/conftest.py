"""An app key and a caller that sends it, for the app-facing API tests."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dispatch import app_devices
from dispatch.extensions import db


def fcm_token(seed: str = "") -> str:
    """A token shaped like a real one: '<instance id>:APA91b<more>', about 160 characters."""
    head = (seed + secrets.token_urlsafe(16))[:22].ljust(22, "x")
    return f"{head}:APA91b{secrets.token_urlsafe(100)}"[:163]


def make_key(name: str = "hau-giang", **kw: Any) -> str:
    _, secret = app_devices.create_key(name, **kw)
    db.session.commit()
    return secret


class AppClient:
    """Calls the app API with an app key (or none)."""

    def __init__(self, client: FlaskClient, key: str | None) -> None:
        self.client = client
        self.key = key

    def with_key(self, key: str | None) -> AppClient:
        return AppClient(self.client, key)

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        headers = dict(headers or {})
        if self.key:
            headers.setdefault("X-App-Key", self.key)
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)


@pytest.fixture()
def app_key(app, redis) -> str:
    """The secret of a live app key; Redis is real so the rate limiter runs as in production."""
    return make_key()


@pytest.fixture()
def app_api(client, app_key) -> AppClient:
    return AppClient(client, app_key)


@pytest.fixture()
def body() -> dict[str, Any]:
    return {"fcm_token": fcm_token(), "platform": "android", "app_version": "2.3.1",
            "locale": "vi-VN", "locality": "vi-thanh", "topics": ["all", "vi-thanh"]}
