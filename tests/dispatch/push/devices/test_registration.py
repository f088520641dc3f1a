"""Registering, refreshing and unregistering installations of the app."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Device, Locality
from dispatch.models.common import utcnow
from tests.helpers.push import fcm_token

INST = "fid-4f0c2a9e7b1d"
URL = f"/api/app/devices/{INST}"


def device(installation_id: str = INST) -> Device:
    db.session.expire_all()
    return db.session.scalar(select(Device).where(Device.installation_id == installation_id))


def test_register_then_refresh(app_api, body, backend):
    first = app_api.put(URL, json=body)
    assert first.status_code == 201, first.json
    assert first.json["locality"] == "vi-thanh" and first.json["topics"] == ["all", "vi-thanh"]
    assert first.json["active"] and not first.json["opted_out"]
    assert "fcm_token" not in first.json  # never echoed
    stored = device()
    assert stored.fcm_token == body["fcm_token"] and stored.platform == "android"
    seen = stored.last_seen_at

    new_token = fcm_token("refresh")
    again = app_api.put(URL, json={"fcm_token": new_token, "platform": "android",
                                   "app_version": "2.4.0"})
    assert again.status_code == 200, again.json
    stored = device()
    assert stored.fcm_token == new_token and stored.app_version == "2.4.0"
    # Fields left out keep their values.
    assert again.json["locality"] == "vi-thanh" and stored.locale == "vi-VN"
    assert stored.topics == ["all", "vi-thanh"]
    assert stored.last_seen_at >= seen
    # Registrations are not audited (tens of thousands a day); nothing else wrote either.
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1  # key creation


def test_register_is_idempotent(app_api, body, backend):
    body["topics"] = ["vi-thanh", "all", "all"]
    statuses = [app_api.put(URL, json=body).status_code for _ in range(3)]
    assert statuses == [201, 200, 200]
    assert db.session.scalar(select(func.count()).select_from(Device)) == 1
    assert device().topics == ["all", "vi-thanh"]
    shown = [app_api.get(URL).json for _ in range(2)]
    assert shown[0] == shown[1]


def test_null_clears_optional_fields(app_api, body, backend):
    app_api.put(URL, json=body)
    r = app_api.put(URL, json={"fcm_token": body["fcm_token"], "platform": "ios",
                               "locality": None, "locale": None, "app_version": None})
    assert r.status_code == 200
    assert r.json["locality"] is None and r.json["locale"] is None and r.json["platform"] == "ios"


def test_token_moving_to_another_installation_disables_the_old_one(app_api, body, backend):
    assert app_api.put(URL, json=body).status_code == 201
    other = "fid-second-install"
    moved = app_api.put(f"/api/app/devices/{other}", json=body)
    assert moved.status_code == 201 and moved.json["active"]
    old, new = device(INST), device(other)
    assert new.fcm_token == body["fcm_token"]
    assert old.fcm_token is None and old.disabled_reason == "token_moved"
    assert old.disabled_at is not None
    assert app_api.get(URL).json["active"] is False

    # The first installation comes back with the same token: it moves back.
    back = app_api.put(URL, json=body)
    assert back.status_code == 200 and back.json["active"]
    assert device(other).disabled_reason == "token_moved" and device(other).fcm_token is None


def test_token_move_into_an_existing_installation(app_api, body, backend):
    """Both rows exist: the token must leave its old row before the new row takes it."""
    other = "fid-second-install"
    app_api.put(URL, json=body)
    app_api.put(f"/api/app/devices/{other}", json=body | {"fcm_token": fcm_token("other")})
    r = app_api.put(f"/api/app/devices/{other}", json=body)
    assert r.status_code == 200, r.json
    assert device(other).fcm_token == body["fcm_token"] and device(INST).fcm_token is None


def test_new_token_re_enables_a_device_fcm_disabled(app_api, body, backend):
    app_api.put(URL, json=body)
    stored = device()
    stored.disabled_reason, stored.disabled_at = "unregistered", utcnow()
    db.session.commit()

    # Same token again: FCM said it is dead, so it stays disabled.
    same = app_api.put(URL, json=body)
    assert same.status_code == 200 and not same.json["active"]
    assert same.json["disabled_reason"] == "unregistered"

    fresh = app_api.put(URL, json=body | {"fcm_token": fcm_token("fresh")})
    assert fresh.json["active"] and fresh.json["disabled_reason"] is None
    assert device().disabled_at is None


def test_unregister_forgets_the_token_and_register_again_re_enables(app_api, body, backend):
    app_api.put(URL, json=body)
    assert app_api.delete(URL).status_code == 204
    assert app_api.delete(URL).status_code == 204  # idempotent
    stored = device()
    assert stored.fcm_token is None and stored.disabled_reason == "app_unregistered"
    # The token is free for another installation without touching this one.
    app_api.put("/api/app/devices/fid-someone-else", json=body)
    assert device().disabled_reason == "app_unregistered"

    again = app_api.put(URL, json=body | {"fcm_token": fcm_token("again")})
    assert again.status_code == 200 and again.json["active"]


def test_unknown_installation_answers_like_a_wrong_secret(app_api, backend):
    # So that nobody learns which installation ids exist by asking.
    for method, path in [("DELETE", URL), ("GET", URL), ("PUT", f"{URL}/topics"),
                         ("POST", f"{URL}/opt-out")]:
        kw = {"json": {"topics": []}} if path.endswith("topics") else {}
        r = app_api.request(method, path, headers={"X-Installation-Secret": "loainst_guess"},
                            **kw)
        assert r.status_code == 403, (method, path)
        assert r.json["code"] == "installation_secret_invalid", (method, path)


def test_replace_topics(app_api, body, backend):
    app_api.put(URL, json=body)
    r = app_api.put(f"{URL}/topics", json={"topics": ["nga-bay", "all"]})
    assert r.status_code == 200 and r.json["topics"] == ["all", "nga-bay"]
    assert device().topics == ["all", "nga-bay"]
    assert app_api.put(f"{URL}/topics", json={"topics": []}).json["topics"] == []
    bad = app_api.put(f"{URL}/topics", json={"topics": ["ok", "no spaces"]})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"topics.1"}
    missing = app_api.put(f"{URL}/topics", json={})
    assert missing.status_code == 422 and set(missing.json["errors"]) == {"topics"}


def test_unknown_locality_names_the_field(app_api, body, backend):
    r = app_api.put(URL, json=body | {"locality": "atlantis"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"locality"}
    assert device() is None


def test_retired_locality_is_still_accepted(app_api, body, backend):
    place = db.session.scalar(select(Locality).where(Locality.code == "long-my"))
    place.active = False
    db.session.commit()
    assert app_api.put(URL, json=body | {"locality": "long-my"}).status_code == 201
    listed = {p["code"] for p in app_api.get("/api/app/localities").json}
    assert "vi-thanh" in listed and "long-my" not in listed


@pytest.mark.parametrize("token", [
    "short-token",
    "x" * 99,
    "a" * 513,
    fcm_token()[:150] + "/+=",  # base64 padding and slashes are not in FCM tokens
    fcm_token()[:120] + " " + fcm_token()[:20],
    "",
])
def test_malformed_token_names_the_field(app_api, body, token, backend):
    r = app_api.put(URL, json=body | {"fcm_token": token})
    assert r.status_code == 422 and set(r.json["errors"]) == {"fcm_token"}, r.json
    assert r.json["code"] == "validation_error"


@pytest.mark.parametrize(("change", "field"), [
    ({"platform": "windows"}, "platform"),
    ({"platform": None}, "platform"),
    ({"fcm_token": None}, "fcm_token"),
    ({"locale": "Vietnamese please"}, "locale"),
    ({"app_version": "1" * 40}, "app_version"),
    ({"topics": "all"}, "topics"),
    ({"topics": ["all", "x" * 901]}, "topics.1"),
    ({"topics": ["all", "a/b"]}, "topics.1"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_fields_are_named(app_api, body, change, field, backend):
    r = app_api.put(URL, json=body | change)
    assert r.status_code == 422, r.json
    assert set(r.json["errors"]) == {field}


def test_missing_required_fields_are_named(app_api, backend):
    r = app_api.put(URL, json={"locale": "vi"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"fcm_token", "platform"}


def test_bad_installation_id_is_named(app_api, body, backend):
    r = app_api.put("/api/app/devices/short", json=body)
    assert r.status_code == 422 and set(r.json["errors"]) == {"installation_id"}


def test_too_many_topics(app_api, body, backend):
    r = app_api.put(URL, json=body | {"topics": [f"t{i}" for i in range(101)]})
    assert r.status_code == 422 and set(r.json["errors"]) == {"topics"}
