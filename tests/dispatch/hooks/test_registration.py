"""Registering a webhook through the API: hostile inputs refused naming the field, the secret
shown once and rotated, admins only."""

from __future__ import annotations

import pytest

from dispatch.access import secrets
from dispatch.extensions import db
from dispatch.models import Webhook

GOOD = {"name": "Ứng dụng tỉnh", "url": "http://10.0.0.5:8080/loa",
        "events": ["reply.received", "message.delivered"]}


@pytest.mark.parametrize("field, value", [
    ("url", "ftp://example.org/loa"),
    ("url", "javascript:alert(1)"),
    ("url", "http://example.org/" + "a" * 5000),
    ("url", "https://user:pass@example.org/loa"),
    ("url", "http:///no-host"),
    ("url", "http://example.org/a b"),
    ("url", "http://example.org:99999/"),
    ("events", ["message.delivered", "message.exploded"]),
    ("events", []),
    ("name", ""),
])
def test_hostile_registration_is_refused_naming_the_field(api, people, field, value):
    admin = api.as_(people["admin"])
    r = admin.post("/api/hooks", json={**GOOD, field: value})
    assert 400 <= r.status_code < 500, r.json
    assert any(k == field or k.startswith(field + ".") for k in r.json["errors"]), r.json
    assert db.session.query(Webhook).count() == 0


def test_unknown_fields_and_missing_fields_are_refused(api, people):
    admin = api.as_(people["admin"])
    r = admin.post("/api/hooks", json={**GOOD, "secret": "mine"})
    assert r.status_code == 422 and "secret" in r.json["errors"]
    r = admin.post("/api/hooks", json={"name": "x", "url": GOOD["url"]})
    assert r.status_code == 422 and "events" in r.json["errors"]


def test_the_secret_is_shown_once_stored_encrypted_and_rotated(api, people):
    admin = api.as_(people["admin"])
    r = admin.post("/api/hooks", json=GOOD)
    assert r.status_code == 201, r.json
    hook_id, secret = r.json["id"], r.json["secret"]
    assert len(secret) >= 40 and r.json["url"] == GOOD["url"]  # a LAN address is allowed
    stored = db.session.get(Webhook, hook_id)
    assert secret not in stored.secret_encrypted
    assert secrets.decrypt(stored.secret_encrypted) == secret
    shown = admin.get(f"/api/hooks/{hook_id}").json
    assert "secret" not in shown and secret not in str(admin.get("/api/hooks").json)
    rotated = admin.post(f"/api/hooks/{hook_id}/secret").json["secret"]
    assert rotated != secret
    db.session.expire_all()
    assert secrets.decrypt(db.session.get(Webhook, hook_id).secret_encrypted) == rotated
    r = admin.patch(f"/api/hooks/{hook_id}", json={"events": ["campaign.completed"]})
    assert r.status_code == 200 and r.json["events"] == ["campaign.completed"]
    r = admin.patch(f"/api/hooks/{hook_id}", json={"url": "file:///etc/passwd"})
    assert r.status_code == 422 and "url" in r.json["errors"]


@pytest.mark.parametrize("role", ["editor", "approver"])
def test_only_admins_manage_webhooks(api, people, role):
    r = api.as_(people[role]).post("/api/hooks", json=GOOD)
    assert r.status_code == 403
    assert api.as_(people[role]).get("/api/hooks").status_code == 403


def test_secrets_rotate_reencrypts_webhook_secrets(app, api, people):
    from pathlib import Path

    from click.testing import CliRunner
    from cryptography.fernet import Fernet

    secret = api.as_(people["admin"]).post("/api/hooks", json=GOOD).json["secret"]
    old = (Path(app.instance_path) / "secrets.key").read_text().strip()
    new = Fernet.generate_key().decode()
    app.config["SECRETS_KEY"] = f"{new},{old}"
    try:
        r = CliRunner().invoke(app.cli, ["secrets", "rotate"])
        assert r.exit_code == 0 and "1 webhook secret" in r.output, r.output
        app.config["SECRETS_KEY"] = new  # the old key is gone: Loa still signs
        db.session.expire_all()
        assert secrets.decrypt(db.session.query(Webhook).one().secret_encrypted) == secret
    finally:
        app.config["SECRETS_KEY"] = None
