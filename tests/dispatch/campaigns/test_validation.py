"""Campaign content checks: every error names its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.campaigns import service, settings
from dispatch.extensions import db
from dispatch.models import Locality
from tests.helpers.factories import make_list

past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(("change", "field"), [
    ({"channels": "fax"}, "channels"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"validity_hours": 0}, "validity_hours"),
    ({"validity_hours": 73}, "validity_hours"),
    ({"validity_hours": "12"}, "validity_hours"),
    ({"priority": "high"}, "priority"),
    ({"send_at": past}, "send_at"),
    ({"send_at": "2030-01-01T08:00:00"}, "send_at"),  # no time zone
    ({"window_start": "7h"}, "window_start"),
    ({"window_end": "24:00"}, "window_end"),
    ({"window_start": "21:00", "window_end": "08:00"}, "window_end"),
    ({"sms_sender": "HẬU GIANG"}, "sms_sender"),
    ({"sms_sender": "HAUGIANGTINH"}, "sms_sender"),
    ({"push_image": "http://example.com/a.png"}, "push_image"),
    ({"push_link": "not a link"}, "push_link"),
    ({"push_data": {"google.x": "1"}}, "push_data.google.x"),
    ({"push_data": {"k": 1}}, "push_data.k.value"),
    ({"audience": {"lists": [1, 9999]}}, "audience.lists.1"),
    ({"audience": {"exclude_lists": [9999]}}, "audience.exclude_lists.0"),
    ({"audience": {"localities": ["vi-thanh", "atlantis"]}}, "audience.localities.1"),
    ({"audience": {"lists": ["x"]}}, "audience.lists.0"),
    ({"audience": {"everyone": True}}, "audience.everyone"),
    ({"cap_exempt": True}, "cap_exempt"),
    ({"status": "approved"}, "status"),
])
def test_bad_fields_are_named(flow, backend, change, field):
    resp = flow.as_("editor").post("/api/campaigns", json=flow.body(**change))
    assert resp.status_code == 422, resp.json
    assert resp.json["code"] == "validation_error"
    assert field in resp.json["errors"], resp.json["errors"]
    # The same check on an edit.
    c = flow.create()
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json=change)
    assert resp.status_code == 422 and field in resp.json["errors"], resp.json
    assert flow.get(c["id"])["version"] == 1


def test_inactive_locality_is_refused(flow, backend):
    db.session.execute(db.update(Locality).where(Locality.code == "long-my").values(active=False))
    db.session.commit()
    resp = flow.as_("editor").post("/api/campaigns",
                                   json=flow.body(audience={"localities": ["long-my"]}))
    assert resp.status_code == 422
    assert "no longer" in resp.json["errors"]["audience.localities.0"][0]


def test_a_draft_may_be_incomplete_but_submission_names_what_is_missing(flow, backend):
    c = flow.as_("editor").post("/api/campaigns", json={"title": "Nháp", "channels": "both"})
    assert c.status_code == 201 and c.json["status"] == "draft"
    resp = flow.act("editor", c.json["id"], "submit")
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"sms_text", "sms_sender", "push_title", "push_body",
                                        "audience"}
    assert len(resp.json["errors"]["audience"]) == 2
    assert resp.json["message"].startswith("Not ready to submit")
    assert flow.get(c.json["id"])["status"] == "draft"


@pytest.mark.parametrize(("channels", "audience", "fields"), [
    ("sms", {"all_app_users": True}, {"audience", "audience.all_app_users"}),
    ("push", {"lists": [0]}, {"audience"}),  # lists do not reach devices
    ("push", {"localities": ["vi-thanh"]}, set()),
    ("push", {"all_app_users": True}, set()),
    ("sms", {"localities": ["nga-bay"]}, set()),
    ("both", {"lists": [0], "all_app_users": True}, set()),
])
def test_something_must_be_targeted_on_each_channel(flow, backend, channels, audience, fields):
    audience = {k: ([flow.list.id] if k == "lists" else v) for k, v in audience.items()}
    body = flow.body(channels=channels, audience=audience, push_title="Tin mới",
                     push_body="Đại hội khai mạc.")
    c = flow.as_("editor").post("/api/campaigns", json=body).json
    resp = flow.act("editor", c["id"], "submit")
    if fields:
        assert resp.status_code == 422 and set(resp.json["errors"]) == fields, resp.json
    else:
        assert resp.status_code == 200, resp.json


def test_submission_rechecks_what_may_have_changed_since_the_draft(flow, backend, monkeypatch):
    gone = make_list("Tạm thời")
    c = flow.create(send_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                    audience={"lists": [flow.list.id, gone.id]})
    db.session.delete(gone)
    db.session.commit()
    monkeypatch.setattr(service, "utcnow", lambda: datetime.now(UTC) + timedelta(hours=2))
    resp = flow.act("editor", c["id"], "submit")
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"send_at", "audience.lists.1"}


def test_defaults_and_normalisation(flow, backend):
    c = flow.create(sms_sender=" HAUGIANG ", phase_id=None, decision_ref="",
                    audience={"lists": [flow.list.id, flow.list.id],
                              "localities": ["vi-thanh", "nga-bay", "vi-thanh"]},
                    send_at="2099-05-01T08:30:15.123+07:00")
    assert c["sms_sender"] == "HAUGIANG"
    assert c["phase_id"] is None and c["decision_ref"] is None
    assert c["audience"] == {"lists": [flow.list.id], "exclude_lists": [],
                             "localities": ["nga-bay", "vi-thanh"], "all_app_users": False}
    assert c["send_at"] == "2099-05-01T01:30:15+00:00"
    assert (c["window_start"], c["window_end"]) == ("07:00", "22:00")
    assert (c["validity_hours"], c["priority"], c["sms_plain"]) == (24, "normal", False)


def test_the_default_window_comes_from_settings(flow, people, backend):
    settings.update("send_window", {"start": "08:00", "end": "20:30"}, actor=people["admin"])
    db.session.commit()
    c = flow.create()
    assert (c["window_start"], c["window_end"]) == ("08:00", "20:30")
    other = flow.create(window_start="06:15", window_end="21:45")
    assert (other["window_start"], other["window_end"]) == ("06:15", "21:45")


def test_bad_json_and_unknown_campaign(flow, backend):
    client = flow.as_("editor")
    resp = client.post("/api/campaigns", data="{not json", content_type="application/json")
    assert resp.status_code in (400, 422) and resp.json["status"] == resp.status_code
    assert client.get("/api/campaigns/999999").status_code == 404
    assert client.patch("/api/campaigns/999999", json={"title": "x"}).status_code == 404
    assert flow.act("approver", 999999, "approve", snapshot_hash="x").status_code == 404
