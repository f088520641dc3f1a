"""Run-time settings through the API."""

from __future__ import annotations

from dispatch.campaigns import settings
from dispatch.seed import DEFAULT_SETTINGS


def test_admin_reads_and_changes_prices(api, people, backend):
    admin = api.as_(people["admin"])
    listed = admin.get("/api/settings").json
    assert {s["key"] for s in listed} == set(DEFAULT_SETTINGS)
    prices = dict(DEFAULT_SETTINGS["sms_price_per_part"], viettel=750)
    r = admin.put("/api/settings/sms_price_per_part", json={"value": prices})
    assert r.status_code == 200 and r.json["value"]["viettel"] == 750
    assert settings.get("sms_price_per_part")["viettel"] == 750
    audit = admin.get("/api/audit?entity=setting&entity_id=sms_price_per_part").json
    event = audit["items"][0]
    assert audit["total"] == 1 and event["before_hash"] != event["after_hash"]


def test_bad_values_name_the_field(api, people, backend):
    admin = api.as_(people["admin"])
    r = admin.put("/api/settings/send_window", json={"value": {"start": "22:00", "end": "07:00"}})
    assert r.status_code == 422 and "value.end" in r.json["errors"]
    r = admin.put("/api/settings/send_window", json={"value": {"start": "7h", "end": "22:00"}})
    assert "value.start" in r.json["errors"]
    r = admin.put("/api/settings/sms_price_per_part", json={"value": {"viettel": -1}})
    assert r.status_code == 422 and "value.viettel" in r.json["errors"]
    assert "value.mobifone" in r.json["errors"]  # every operator needs a price
    r = admin.put("/api/settings/opt_out_keywords", json={"value": ["TC", "huy ngay"]})
    assert r.status_code == 422 and "value.1" in r.json["errors"]
    assert admin.put("/api/settings/nope", json={"value": 1}).status_code == 404
    # Nothing was changed by the refused requests.
    assert settings.get("send_window") == DEFAULT_SETTINGS["send_window"]


def test_only_admins_touch_settings(api, people, backend):
    for role in ("editor", "approver"):
        assert api.as_(people[role]).get("/api/settings").status_code == 403
        r = api.as_(people[role]).put("/api/settings/recipient_cap",
                                      json={"value": {"max_campaigns": 9, "hours": 24}})
        assert r.status_code == 403
