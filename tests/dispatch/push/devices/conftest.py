"""An app key and a caller that sends it, for the app-facing API tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.push import AppClient, fcm_token, make_key


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
