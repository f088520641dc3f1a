"""Managing app keys: the CLI (key printed once, only the hash stored) and the admin API."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AppKey, AuditEvent
from tests.helpers.push import AppClient

URL = "/api/app/devices/fid-4f0c2a9e7b1d"


def test_cli_creates_lists_and_revokes(app, client, redis, body, backend):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["appkeys", "create", "hau-giang", "--rate-limit", "1200"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("loaapp_") and "\n" not in secret
    assert made.output.count(secret) == 1  # printed once

    key = db.session.scalar(select(AppKey))
    assert key.name == "hau-giang" and key.rate_limit_per_minute == 1200
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in (key.name, key.prefix, key.key_hash)]
    assert all(secret not in v for v in stored)

    assert AppClient(client, secret).put(URL, json=body).status_code == 201
    listed = runner.invoke(args=["appkeys", "list"])
    assert key.prefix in listed.output and secret not in listed.output
    assert "never" not in listed.output  # it has been used

    assert runner.invoke(args=["appkeys", "revoke", str(key.id)]).exit_code == 0
    assert "(revoked)" in runner.invoke(args=["appkeys", "list"]).output
    assert AppClient(client, secret).put(URL, json=body).status_code == 401
    missing = runner.invoke(args=["appkeys", "revoke", "999"])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["appkey.create", "appkey.revoke"]


def test_admin_api_manages_keys(api, people, client, redis, body, backend):
    admin = api.as_(people["admin"])
    made = admin.post("/api/app-keys", json={"name": "hau-giang"})
    assert made.status_code == 201, made.json
    secret, key_id = made.json["key"], made.json["id"]
    assert made.json["rate_limit_per_minute"] == 6000
    assert all("key" not in k for k in admin.get("/api/app-keys").json)

    changed = admin.patch(f"/api/app-keys/{key_id}", json={"rate_limit_per_minute": 1})
    assert changed.status_code == 200 and changed.json["rate_limit_per_minute"] == 1
    app_client = AppClient(client, secret)
    assert app_client.put(URL, json=body).status_code == 201
    assert app_client.put(URL, json=body).status_code == 429

    assert admin.delete(f"/api/app-keys/{key_id}").status_code == 204
    assert admin.get("/api/app-keys").json[0]["revoked_at"] is not None
    assert app_client.put(URL, json=body).status_code == 401
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "app_key"))
    assert {e.action: e.actor_id for e in audit} == {
        "appkey.create": people["admin"].id, "appkey.update": people["admin"].id,
        "appkey.revoke": people["admin"].id,
    }


def test_only_admins_manage_keys(api, people, backend):
    for role in ("editor", "approver"):
        r = api.as_(people[role]).post("/api/app-keys", json={"name": "x"})
        assert r.status_code == 403
    r = api.as_(people["admin"]).post("/api/app-keys", json={"name": "x", "secret": "mine"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"secret"}
    assert api.as_(people["admin"]).delete("/api/app-keys/99").status_code == 404
