"""Users, passwords and API tokens through the API."""

from __future__ import annotations

import base64

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import ApiToken, AuditEvent
from tests.helpers.factories import PASSWORD


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_admin_creates_user_with_one_time_password_then_user_gets_token(api, people, backend):
    admin = api.as_(people["admin"])
    resp = admin.post("/api/users", json={"username": "Lan.Nguyen", "roles": ["editor"]})
    assert resp.status_code == 201, resp.json
    otp = resp.json["one_time_password"]
    assert resp.json["username"] == "lan.nguyen" and resp.json["must_change_password"]

    # A one-time password cannot mint tokens: it must be replaced first.
    refused = api.post("/api/tokens", json={"name": "laptop"}, headers=basic("lan.nguyen", otp))
    assert refused.status_code == 403 and refused.json["code"] == "password_change_required"

    changed = api.put("/api/me/password", headers=basic("lan.nguyen", otp),
                      json={"current_password": otp, "new_password": "a new long password"})
    assert changed.status_code == 204
    made = api.post("/api/tokens", json={"name": "laptop"},
                    headers=basic("lan.nguyen", "a new long password"))
    assert made.status_code == 201
    secret = made.json["token"]
    assert secret.startswith("loa_") and made.json["prefix"] == secret[:12]

    me = api.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json["roles"] == ["editor"]


def test_tokens_are_hashed_at_rest_and_revocable(api, people, backend):
    resp = api.post("/api/tokens", json={"name": "ci"}, headers=basic("editor1", PASSWORD))
    secret, token_id = resp.json["token"], resp.json["id"]
    stored = db.session.get(ApiToken, token_id)
    assert stored.token_hash != secret and secret not in stored.token_hash
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/me", headers=auth).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token_id).last_used_at is not None
    listed = api.get("/api/tokens", headers=auth).json
    assert all("token" not in t for t in listed)
    assert api.delete(f"/api/tokens/{token_id}", headers=auth).status_code == 204
    gone = api.get("/api/me", headers=auth)
    assert gone.status_code == 401 and gone.json["code"] == "not_authenticated"


def test_repeated_wrong_passwords_slow_that_address_down_only(api, people, backend):
    for _ in range(5):
        r = api.post("/api/tokens", json={"name": "x"}, headers=basic("editor1", "wrong pass!!"))
        assert r.status_code == 401 and r.json["code"] == "not_authenticated"
    waiting = api.post("/api/tokens", json={"name": "x"}, headers=basic("editor1", PASSWORD))
    assert waiting.status_code == 401 and "Retry-After" not in waiting.headers
    elsewhere = api.post("/api/tokens", json={"name": "x"}, headers=basic("editor1", PASSWORD),
                         environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 201
    assert not db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.locked"))


def test_new_passwords_follow_the_rules(api, people, backend):
    admin = api.as_(people["admin"])
    refused = {
        "short": "Tr4m-Xa!",
        "spaces": " " * 14,
        "invisible": "\u200b" * 14,
        "username": "lan.nguyen-is-my-name",
        "common": "password12345",
    }
    for case, password in refused.items():
        r = admin.post("/api/users", json={"username": "lan.nguyen", "roles": ["editor"],
                                           "password": password})
        assert r.status_code == 422 and "password" in r.json["errors"], (case, r.json)
    r = admin.post("/api/users", json={"username": "lan.nguyen", "roles": ["editor"],
                                       "password": "sông Hậu chiều gió lộng"})
    assert r.status_code == 201, r.json
    changed = api.put("/api/me/password", headers=basic("lan.nguyen", "sông Hậu chiều gió lộng"),
                      json={"current_password": "sông Hậu chiều gió lộng",
                            "new_password": "qwertyuiop123"})
    assert changed.status_code == 422 and list(changed.json["errors"]) == ["new_password"]


def test_only_admins_manage_users(api, people, backend):
    for role in ("editor", "approver"):
        r = api.as_(people[role]).post("/api/users", json={"username": "x", "roles": ["editor"]})
        assert r.status_code == 403 and r.json["code"] == "forbidden"
    assert api.get("/api/users").status_code == 401


def test_user_validation_names_the_field(api, people, backend):
    admin = api.as_(people["admin"])
    r = admin.post("/api/users", json={"username": "ok", "roles": ["boss"]})
    assert r.status_code == 422 and "roles.0" in r.json["errors"]
    r = admin.post("/api/users", json={"username": "editor1", "roles": ["editor"]})
    assert r.status_code == 409 and r.json["errors"] == {"username": ["Taken."]}
    r = admin.post("/api/users", json={"username": "x y", "roles": ["editor"], "age": 3})
    assert set(r.json["errors"]) == {"username", "age"}


def test_admin_cannot_demote_self(api, people, backend):
    admin = people["admin"]
    r = api.as_(admin).patch(f"/api/users/{admin.id}", json={"roles": ["editor"]})
    assert r.status_code == 409


def test_disabling_a_user_through_the_api_revokes_their_tokens(api, people, backend):
    editor = api.as_(people["editor"])
    assert editor.get("/api/me").status_code == 200
    r = api.as_(people["admin"]).patch(f"/api/users/{people['editor'].id}",
                                       json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False
    people["editor"].active = True  # even turned back on, the old token stays revoked
    db.session.commit()
    assert editor.get("/api/me").status_code == 401
    audit = db.session.scalars(select(AuditEvent.action)).all()
    assert "token.revoke_all" in audit
