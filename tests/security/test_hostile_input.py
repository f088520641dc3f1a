"""Hostile JSON and text: a 4xx naming the field, never a 500, whatever the endpoint.

The JSON of every request is loaded once (dispatch.api.jsonbody): lone surrogates, NUL and deep
nesting are refused there; the field types (dispatch.schemas.fields) refuse the rest and bound
dates to 2000-2100. Dates stored out of range before that rule must still show.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from dispatch.extensions import db
from dispatch.models import ApiToken, Campaign, CampaignStatus, User
from dispatch.models.common import utcnow
from tests.helpers import web as helpers
from tests.helpers.browser import Browser
from tests.helpers.factories import make_user, token_for

DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture()
def boss(app: Any) -> User:
    return make_user("boss", ["editor", "approver", "admin"])


def _send(client: Any, method: str, path: str, body: str, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(path, method=method, data=body.encode("utf-8", "surrogatepass"),
                       headers=headers)


BODIES = [
    ("POST", "/api/lists", '{"name": "Cử tri \\ud800"}', "name"),
    ("POST", "/api/lists", '{"name": "Cử tri", "description": "a\\udfffb"}', "description"),
    ("POST", "/api/campaigns", '{"title": "T", "push_data": {"k": "\\ud83d"}}', "push_data.k"),
    ("POST", "/api/campaigns", '{"title": "T", "audience": {"localities": ["\\udc00"]}}',
     "audience.localities.0"),
    ("POST", "/api/preview/sms", '{"text": "\\ud800"}', "text"),
    ("PUT", "/api/settings/send_window", '{"value": {"start": "\\ud800", "end": "1"}}',
     "value.start"),
    ("POST", "/api/tokens", '{"name": "\\ud800"}', "name"),
    ("POST", "/api/users", '{"username": "ab", "roles": ["editor"], "full_name": "\\udbff"}',
     "full_name"),
    ("POST", "/api/optouts", '{"channel": "sms", "address": "0912345678", "reason": "x\\u0000"}',
     "reason"),
    ("POST", "/api/lists", '{"name": "x\\u0000y"}', "name"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BODIES)
def test_lone_surrogates_and_nul_are_refused_naming_the_field(
        backend: str, client: Any, boss: User, method: str, path: str, body: str,
        field: str) -> None:
    response = _send(client, method, path, body, token_for(boss))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["errors"], response.json


def test_a_bad_field_name_is_refused_too(backend: str, client: Any, boss: User) -> None:
    response = _send(client, "POST", "/api/lists", '{"name": "x", "\\ud800": 1}', token_for(boss))
    assert response.status_code == 422
    assert "field name" in json.dumps(response.json)


@pytest.mark.parametrize("path", ["/api/lists", "/api/tokens", "/api/campaigns", "/api/users"])
@pytest.mark.parametrize("signed", [True, False])
def test_deep_nesting_is_a_4xx_with_or_without_a_caller(backend: str, client: Any, boss: User,
                                                        path: str, signed: bool) -> None:
    response = _send(client, "POST", path, DEEP, token_for(boss) if signed else None)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.json["code"] == "too_deep"


def test_nesting_inside_a_field_names_the_field(backend: str, client: Any, boss: User) -> None:
    body = '{"value": ' + "[" * 200 + "]" * 200 + "}"
    response = _send(client, "PUT", "/api/settings/send_window", body, token_for(boss))
    assert response.status_code == 400
    assert list(response.json["errors"]) == ["value"]


def test_an_oversize_body_is_a_413(backend: str, app: Any, client: Any, boss: User) -> None:
    limit = app.config["JSON_MAX_BYTES"]
    body = json.dumps({"name": "x", "description": "a" * (limit + 10)})
    response = _send(client, "POST", "/api/lists", body, token_for(boss))
    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"


# --- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/campaigns", {"title": "T", "send_at": "9999-12-31T00:00:00+00:00"}, "send_at"),
    ("POST", "/api/campaigns", {"title": "T", "send_at": "0001-01-01T00:00:00+07:00"}, "send_at"),
    ("POST", "/api/tokens", {"name": "t", "expires_at": "9999-12-31T23:59:59+00:00"},
     "expires_at"),
    ("GET", "/api/reports/summary?until=9999-12-31", None, "until"),
    ("GET", "/api/reports/summary?since=0001-01-01", None, "since"),
    ("GET", "/api/audit?since=0001-01-01T00:00:00Z", None, "since"),
    ("GET", "/api/campaigns?created_until=9999-12-31T23:59:59-12:00", None, "created_until"),
])
def test_dates_outside_2000_2100_are_refused(backend: str, client: Any, boss: User, method: str,
                                             path: str, body: Any, field: str) -> None:
    response = _send(client, method, path, json.dumps(body) if body else "", token_for(boss))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["errors"][field] == ["Give a date between 2000 and 2100."]


def test_a_date_stored_out_of_range_breaks_no_page(backend: str, app: Any, client: Any,
                                                   people: dict[str, User]) -> None:
    """Written straight to the database, as a row from before the rule would be."""
    lst = helpers.contact_list()
    c = helpers.approved(people["editor"], people["approver"], lst)
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    early = datetime(1, 1, 1, 0, 0, tzinfo=UTC)
    db.session.execute(sa.update(Campaign).where(Campaign.id == c.id).values(
        status=CampaignStatus.SCHEDULED, send_at=far))
    done = helpers.approved(people["editor"], people["approver"], lst, title="Đã gửi")
    db.session.execute(sa.update(Campaign).where(Campaign.id == done.id).values(
        status=CampaignStatus.COMPLETED, send_at=far, launched_at=utcnow(), finished_at=far))
    token_for(people["admin"])
    db.session.execute(sa.update(ApiToken).values(expires_at=far, last_used_at=early))
    db.session.commit()
    for role, paths in (
            ("editor", ("/", "/campaigns", f"/campaigns/{c.id}", f"/campaigns/{done.id}",
                        "/account/tokens")),
            ("admin", ("/admin/tokens", "/", "/admin/audit", "/account/tokens")),
            ("approver", ("/", f"/approvals/{c.id}", "/approvals", f"/campaigns/{c.id}"))):
        browser = Browser(app, people[role])
        for path in paths:
            response = browser.open("GET", path)
            assert response.status_code == 200, (role, path)
    api_token = token_for(people["approver"])
    for path in (f"/api/campaigns/{c.id}", "/api/campaigns", "/api/reports/summary",
                 "/api/reports/summary.csv", "/api/reports/summary.xlsx",
                 f"/api/campaigns/{c.id}/report", f"/api/campaigns/{done.id}/report",
                 f"/api/campaigns/{done.id}/export.csv", f"/api/campaigns/{done.id}/progress"):
        response = client.get(path, headers={"Authorization": f"Bearer {api_token}"})
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])


# --- the query string and what no schema reads --------------------------------------------

@pytest.mark.parametrize("path", ["/audiences/lists?q=%00", "/campaigns?q=a%00",
                                  "/audiences/optouts?source=%00", "/admin/audit?entity=%00",
                                  "/api/lists?q=%00", "/api/audit?entity=x%00"])
def test_a_nul_in_the_query_string_is_a_422_naming_it(backend: str, app: Any, client: Any,
                                                      boss: User, path: str) -> None:
    browser = Browser(app, boss)
    response = browser.open("GET", path, headers={"Authorization": f"Bearer {token_for(boss)}"}
                            if path.startswith("/api/") else {})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    name = path.split("?")[1].split("=")[0]
    if path.startswith("/api/"):
        assert list(response.json["errors"]) == [name]
    else:
        assert "NUL" in response.get_data(as_text=True)


def test_a_search_longer_than_a_url_allows_is_refused(backend: str, client: Any,
                                                      boss: User) -> None:
    response = client.get("/api/lists?q=" + "lý do " * 2000,
                          headers={"Authorization": f"Bearer {token_for(boss)}"})
    assert response.status_code == 422 and "q" in response.json["errors"]


def test_sign_in_with_a_nul_is_refused_not_a_500(backend: str, app: Any, boss: User) -> None:
    """The sign-in form reads no schema: PostgreSQL refusing the NUL is answered as a 422."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = Browser(app).open("POST", "/login", data={"username": "boss\x00",
                                                             "password": "x"})
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code in (401, 422)


def test_exports_name_their_charset_once(backend: str, api: Any,
                                         people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.approved(people["editor"], people["approver"], lst)
    response = api.as_(people["approver"]).get(f"/api/campaigns/{c.id}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    summary = api.as_(people["approver"]).get("/api/reports/summary.csv")
    assert summary.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_request_get_json_reads_through_the_same_checks(app: Any) -> None:
    """For a view that reads `request.get_json()` itself rather than a schema."""
    from flask import request

    from dispatch.errors import LoaError, ValidationFailed

    with app.test_request_context("/api/x", method="POST", data='{"a": ["\\ud800"]}',
                                  content_type="application/json"):
        with pytest.raises(ValidationFailed) as refused:
            request.get_json()
        assert refused.value.errors == {
            "a.0": ["Contains an invalid character (a lone UTF-16 surrogate)."]}
    with app.test_request_context("/api/x", method="POST", data=DEEP,
                                  content_type="application/json"), pytest.raises(LoaError):
        request.get_json()
