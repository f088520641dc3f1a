"""Fixtures for the page tests: a signed-in test client that carries the CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from dispatch.models import User
from tests.helpers.web import Pages


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
