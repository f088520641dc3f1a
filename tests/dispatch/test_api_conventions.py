"""The conventions every endpoint shares: OpenAPI, docs page, the one error format."""

from __future__ import annotations

import pytest


def test_openapi_document_lists_the_resources(client, app):
    spec = client.get("/api/openapi.json").json
    assert spec["info"]["title"] == "Loa API"
    assert "/api/users" in spec["paths"] and "/api/tokens" in spec["paths"]
    assert "bearer" in spec["components"]["securitySchemes"]


def test_docs_page_renders_without_external_assets(client, app):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/users" in html
    # Machines here have no internet: the page must not pull anything from elsewhere.
    assert "<script" not in html and "https://" not in html and "http://" not in html


def test_bad_json_is_a_400_in_the_error_format(api, people):
    r = api.as_(people["admin"]).post("/api/users", data="{not json",
                                      content_type="application/json")
    assert r.status_code == 400
    assert set(r.json) >= {"status", "code", "message"} and r.json["status"] == 400


def test_wrong_type_names_the_field(api, people):
    r = api.as_(people["admin"]).post("/api/users", json={"username": 5, "roles": "editor"})
    assert r.status_code == 422 and r.json["code"] == "validation_error"
    assert set(r.json["errors"]) == {"username", "roles"}


def test_oversize_body_is_a_413_not_a_500(api, people, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        r = api.as_(people["admin"]).post("/api/users", data="x" * 5000,
                                          content_type="application/json")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 100 * 1024 * 1024
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/api/nope", "/api/users/999999"])
def test_not_found_uses_the_format(api, people, path):
    r = api.as_(people["admin"]).get(path)
    assert r.status_code == 404 and r.json["code"] == "not_found"


def test_method_not_allowed_uses_the_format(api, people):
    r = api.as_(people["admin"]).put("/api/users")
    assert r.status_code == 405 and r.json["code"] == "method_not_allowed"


def test_unexpected_error_is_a_generic_500(app, api, people, monkeypatch):
    def boom(user_id):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("dispatch.access.users.get_user", boom)
    r = api.as_(people["admin"]).get(f"/api/users/{people['admin'].id}")
    assert r.status_code == 500 and "secret" not in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/users?bogus=1", "/api/audit?actorid=3"])
def test_unknown_query_fields_are_named(api, people, path):
    r = api.as_(people["admin"]).get(path)
    field = path.split("?")[1].split("=")[0]
    assert r.status_code == 422 and field in r.json["errors"]


def test_a_refused_request_leaves_no_half_change_behind(api, people, app):
    """A service that changed an object and then raised must not leak the change."""
    from dispatch.extensions import db
    from dispatch.models import User

    admin = people["admin"]
    # Demoting yourself is refused after the roles were already assigned on the object.
    r = api.as_(admin).patch(f"/api/users/{admin.id}", json={"roles": ["editor"]})
    assert r.status_code == 409
    db.session.commit()  # whatever the session still holds would be written now
    db.session.expire_all()
    assert db.session.get(User, admin.id).roles == ["admin"]
