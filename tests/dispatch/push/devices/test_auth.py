"""App keys: the only credential of the app API, refused anywhere else, rate-limited."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AppKey
from dispatch.push import devices as app_devices
from tests.helpers.factories import token_for
from tests.helpers.push import AppClient, make_key

URL = "/api/app/devices/fid-4f0c2a9e7b1d"


def test_missing_or_unknown_key_is_401(app_api, body, backend):
    for key in (None, "loaapp_not-a-real-key"):
        r = app_api.with_key(key).put(URL, json=body)
        assert r.status_code == 401 and r.json["code"] == "not_authenticated"


def test_revoked_key_is_401(app_api, body, app_key, backend):
    assert app_api.put(URL, json=body).status_code == 201
    key = db.session.scalar(select(AppKey))
    app_devices.revoke_key(key, actor=None)
    db.session.commit()
    r = app_api.put(URL, json=body)
    assert r.status_code == 401 and "revoked" in r.json["message"]


def test_key_is_hashed_at_rest_and_touched_on_use(app_api, app_key, body, backend):
    key = db.session.scalar(select(AppKey))
    assert app_key.startswith("loaapp_") and key.prefix == app_key[:14]
    assert app_key not in key.key_hash and key.last_used_at is None
    app_api.put(URL, json=body)
    db.session.expire_all()
    assert db.session.scalar(select(AppKey)).last_used_at is not None


def test_staff_token_is_refused_on_app_endpoints(client, app_key, people, body, backend):
    staff = token_for(people["admin"])
    anonymous = AppClient(client, None)
    r = anonymous.put(URL, json=body, headers={"Authorization": f"Bearer {staff}"})
    assert r.status_code == 401 and "X-App-Key" in r.json["message"]
    # Nor is a staff token passed off as an app key.
    r = anonymous.put(URL, json=body, headers={"X-App-Key": staff})
    assert r.status_code == 401


def test_app_key_is_refused_on_staff_endpoints(api, app_key, people, backend):
    for headers in ({"X-App-Key": app_key}, {"Authorization": f"Bearer {app_key}"}):
        for path in ("/api/me", "/api/app-keys", "/api/campaigns"):
            r = api.get(path, headers=headers)
            assert r.status_code == 401, (path, headers)


def test_rate_limit_per_key_is_429_with_retry_after(client, redis, app, body, backend):
    limited = AppClient(client, make_key("tiny", rate_limit_per_minute=3))
    other = AppClient(client, make_key("other", rate_limit_per_minute=3), limited.secrets)
    assert [limited.put(URL, json=body).status_code for _ in range(3)] == [201, 200, 200]
    r = limited.put(URL, json=body)
    assert r.status_code == 429 and r.json["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= 120
    assert "3 per minute" in r.json["message"]
    # Counted per key: another app's key is unaffected.
    assert other.get(URL).status_code == 200
    # Invalid requests count too (they cost the service as much), and refusals happen first.
    assert limited.put(URL, json={"nonsense": 1}).status_code == 429


def test_openapi_documents_the_app_key_scheme(client, app):
    spec = client.get("/api/openapi.json").json
    scheme = spec["components"]["securitySchemes"]["appKey"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-App-Key",
                      "description": scheme["description"]}
    put = spec["paths"]["/api/app/devices/{installation_id}"]["put"]
    # Registering needs the key, refreshing the installation's secret as well; the rest both.
    assert put["security"] == [{"appKey": [], "installationSecret": []}, {"appKey": []}]
    assert spec["paths"]["/api/app/devices/{installation_id}"]["get"]["security"] == [
        {"appKey": [], "installationSecret": []}]
    secret = spec["components"]["securitySchemes"]["installationSecret"]
    assert secret["name"] == "X-Installation-Secret" and secret["in"] == "header"
    assert {"409", "413", "429"} <= set(put["responses"])
    assert {"200", "201", "422"} <= set(put["responses"])
    # Staff endpoints keep the bearer scheme.
    assert "security" not in spec["paths"]["/api/app-keys"]["get"]
