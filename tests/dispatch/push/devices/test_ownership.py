"""An installation belongs to whoever registered it: an attacker holding the app key (it ships
inside every copy of the app) cannot take it over, read it, opt it out, or flood registrations."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Device, OptOut
from dispatch.models.apps import InstallationSecret
from dispatch.push import installations as app_installations
from tests.helpers.push import fcm_token

URL = "/api/app/devices/fid-4f0c2a9e7b1d"


@pytest.fixture()
def victim(app_api, body):
    r = app_api.put(URL, json=body)
    assert r.status_code == 201 and r.json["installation_secret"].startswith("loainst_")
    return app_api


def test_secret_is_shown_once_and_stored_hashed(victim, body, backend):
    secret = victim.secrets["fid-4f0c2a9e7b1d"]
    row = db.session.scalar(select(InstallationSecret))
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    again = victim.get(URL)
    assert again.status_code == 200 and "installation_secret" not in again.json
    assert victim.put(URL, json=body).status_code == 200


def test_takeover_with_the_app_key_alone_is_refused(victim, body, backend):
    attacker = victim.another_copy()
    mine = fcm_token("attacker")
    r = attacker.put(URL, json=body | {"fcm_token": mine, "locality": None})
    assert r.status_code == 409 and r.json["code"] == "installation_registered"
    r = attacker.put(URL, json=body | {"fcm_token": mine},
                     headers={"X-Installation-Secret": "loainst_guessed"})
    assert r.status_code == 403 and r.json["code"] == "installation_secret_invalid"
    stored = db.session.scalar(select(Device))
    assert stored.fcm_token == body["fcm_token"] and stored.locality_id is not None
    assert victim.get(URL).json["locality"] == "vi-thanh"


def test_reading_topics_and_opting_out_another_are_refused(victim, backend):
    attacker = victim.another_copy()
    r = attacker.get(URL)
    assert r.status_code == 401 and r.json["code"] == "installation_secret_required"
    assert "locality" not in r.json
    for method, path, kw in [("POST", f"{URL}/opt-out", {"json": {}}),
                             ("DELETE", f"{URL}/opt-out", {}), ("DELETE", URL, {}),
                             ("PUT", f"{URL}/topics", {"json": {"topics": []}})]:
        r = attacker.request(method, path, **kw)
        assert r.status_code == 401, (method, path)
        r = attacker.request(method, path, headers={"X-Installation-Secret": "loainst_x"}, **kw)
        assert r.status_code == 403, (method, path)
    assert db.session.scalar(select(OptOut)) is None
    assert victim.get(URL).json["active"] and victim.get(URL).json["topics"] == ["all", "vi-thanh"]
    assert victim.post(f"{URL}/opt-out", json={}).json["opted_out"]


def test_a_lost_answer_may_be_sent_again_with_the_same_token_only(app_api, body, backend):
    first = app_api.put(URL, json=body).json["installation_secret"]
    retry = app_api.another_copy().put(URL, json=body)  # the app never saw the first answer
    assert retry.status_code == 201 and retry.json["installation_secret"] != first
    app_api.secrets["fid-4f0c2a9e7b1d"] = retry.json["installation_secret"]
    assert app_api.get(URL).status_code == 200  # it came back: no more retries
    assert app_api.another_copy().put(URL, json=body).status_code == 409


def test_old_installation_claims_a_secret_once_with_its_token(app_api, body, backend):
    app_api.put(URL, json=body)
    db.session.query(InstallationSecret).delete()  # as registered before secrets existed
    db.session.commit()
    copy = app_api.another_copy()
    assert copy.get(URL).status_code == 401
    stranger = copy.put(URL, json=body | {"fcm_token": fcm_token("stranger")})
    assert stranger.status_code == 409
    claim = copy.put(URL, json=body)
    assert claim.status_code == 200 and claim.json["installation_secret"]
    assert copy.get(URL).status_code == 200
    assert copy.another_copy().put(URL, json=body).status_code == 409  # once only


def test_registration_flood_from_one_address_is_limited(app, app_api, body, backend):
    app.config["APP_REGISTRATIONS_PER_ADDRESS_PER_HOUR"] = 5
    try:
        flood = [app_api.put(f"/api/app/devices/fake-{i:05d}",
                             json=body | {"fcm_token": fcm_token(f"f{i}")},
                             environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
                 for i in range(7)]
        assert flood == [201] * 5 + [429, 429]
        r = app_api.put("/api/app/devices/fake-99999", json=body | {"fcm_token": fcm_token()},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert r.json["code"] == "registration_limit" and "at most 5 per 60 minutes" in \
            r.json["message"] and int(r.headers["Retry-After"]) > 0
        other = app_api.put("/api/app/devices/real-00001", json=body | {"fcm_token": fcm_token()},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert other.status_code == 201
        # A registered installation from the flooded address still refreshes.
        assert app_api.put("/api/app/devices/fake-00000", json=body | {"fcm_token": fcm_token()},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    finally:
        app.config["APP_REGISTRATIONS_PER_ADDRESS_PER_HOUR"] = 100


def test_requests_per_installation_are_limited(app, victim, backend):
    app.config["APP_REQUESTS_PER_INSTALLATION_PER_MINUTE"] = 3
    try:
        assert [victim.get(URL).status_code for _ in range(4)] == [200, 200, 200, 429]
        # An attacker hammering the id without its secret does not use up its share.
        assert victim.another_copy().get(URL).status_code == 401
    finally:
        app.config["APP_REQUESTS_PER_INSTALLATION_PER_MINUTE"] = 30


def test_body_over_16_kb_is_refused_before_parsing(app_api, backend):
    big = b"{" + b"x" * (16 * 1024 + 1)  # not even JSON: a parser would answer 400/422
    r = app_api.put(URL, data=big, content_type="application/json")
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
    assert db.session.scalar(select(Device)) is None


def test_51_topics_or_a_long_topic_are_refused(victim, body, backend):
    r = victim.put(f"{URL}/topics", json={"topics": [f"t{i}" for i in range(51)]})
    assert r.status_code == 422 and "topics" in r.json["errors"]
    assert victim.put(f"{URL}/topics", json={"topics": [f"t{i}" for i in range(50)]}) \
        .status_code == 200
    r = victim.put(f"{URL}/topics", json={"topics": ["x" * 65]})
    assert r.status_code == 422 and "topics.0" in r.json["errors"]
    r = victim.put(f"{URL}/topics", json={"topics": ["%2Fetc"]})
    assert r.status_code == 422


def _one_never_came_back(app_api, body) -> None:
    app_api.put("/api/app/devices/came-back-1", json=body | {"fcm_token": fcm_token("a")})
    app_api.get("/api/app/devices/came-back-1")
    app_api.put("/api/app/devices/never-back-1", json=body | {"fcm_token": fcm_token("b")})
    app_api.put("/api/app/devices/brand-new-1", json=body | {"fcm_token": fcm_token("c")})
    old = app_installations.utcnow() - timedelta(days=8)
    for device in db.session.scalars(select(Device).where(Device.installation_id != "brand-new-1")):
        device.created_at = old
        db.session.get(InstallationSecret, device.id).issued_at = old
    db.session.commit()


def test_installations_that_never_came_back_are_pruned(app, app_api, body, backend):
    _one_never_came_back(app_api, body)
    result = app.test_cli_runner().invoke(args=["push", "prune-devices"])
    assert result.exit_code == 0 and "Pruned 1 installation" in result.output
    left = set(db.session.scalars(select(Device.installation_id)))
    assert left == {"came-back-1", "brand-new-1"}
    assert app_api.another_copy().put("/api/app/devices/never-back-1",
                                      json=body | {"fcm_token": fcm_token("b")}).status_code == 201


def test_the_daily_retention_pass_prunes_them_too(app, app_api, body, backend):
    from dispatch.audiences import retention
    _one_never_came_back(app_api, body)
    assert retention.run(app.config)["installations"] == 1
    assert set(db.session.scalars(select(Device.installation_id))) == {"came-back-1",
                                                                         "brand-new-1"}


def test_body_sent_without_a_length_stops_at_16_kb(app_api, backend):
    big = io.BytesIO(b'{"fcm_token": "' + b"x" * (64 * 1024) + b'"}')
    r = app_api.put(URL, input_stream=big, content_type="application/json",
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
