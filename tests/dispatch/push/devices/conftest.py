"""An app key and a caller that sends it, for the app-facing API tests."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dispatch.extensions import db
from dispatch.push import devices as app_devices


def fcm_token(seed: str = "") -> str:
    """A token shaped like a real one: '<instance id>:APA91b<more>', about 160 characters."""
    head = (seed + secrets.token_urlsafe(16))[:22].ljust(22, "x")
    return f"{head}:APA91b{secrets.token_urlsafe(100)}"[:163]


def make_key(name: str = "hau-giang", **kw: Any) -> str:
    _, secret = app_devices.create_key(name, **kw)
    db.session.commit()
    return secret


def _installation_of(path: str) -> str | None:
    parts = path.split("?")[0].split("/")
    return parts[4] if len(parts) > 4 and parts[:4] == ["", "api", "app", "devices"] else None


class AppClient:
    """Calls the app API with an app key (or none), as one copy of the app: it keeps the
    secret each registration returned and sends it on that installation's later calls."""

    def __init__(self, client: FlaskClient, key: str | None,
                 secrets_by_id: dict[str, str] | None = None) -> None:
        self.client = client
        self.key = key
        self.secrets = {} if secrets_by_id is None else secrets_by_id

    def with_key(self, key: str | None) -> AppClient:
        return AppClient(self.client, key, self.secrets)

    def another_copy(self) -> AppClient:
        """Another copy of the app (an attacker holding the app key): none of these secrets."""
        return AppClient(self.client, self.key, {})

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        headers = dict(headers or {})
        if self.key:
            headers.setdefault("X-App-Key", self.key)
        installation = _installation_of(path)
        if installation in self.secrets:
            headers.setdefault("X-Installation-Secret", self.secrets[installation])
        r = self.client.open(path, method=method, headers=headers, **kwargs)
        answer = r.get_json(silent=True)
        if installation and isinstance(answer, dict) and answer.get("installation_secret"):
            self.secrets[installation] = answer["installation_secret"]
        return r

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
