"""The app's side of strategies: telling the user's number, and which notification it opened.

Hostile inputs are refused with a code naming the field, never a 5xx: another installation's
secret, a number with a letter, an open of a campaign that sent this installation nothing, and
10,000 calls in a row.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign, Device, Message, MessageStatus
from tests.helpers.push import AppClient, fcm_token, make_campaign, make_key

S = MessageStatus


def register(app_api: AppClient, installation: str, environ_base: Any = None,
             **extra: Any) -> Any:
    where = {"environ_base": environ_base} if environ_base else {}
    return app_api.put(f"/api/app/devices/{installation}", **where, json={
        "fcm_token": fcm_token(installation[:6]), "platform": "android", **extra})


def device(installation: str) -> Device:
    db.session.expire_all()
    found = db.session.scalar(db.select(Device).where(Device.installation_id == installation))
    assert found is not None
    return found


def test_only_a_key_that_verifies_numbers_makes_a_verified_link(app, client):
    verifying = AppClient(client, make_key("otp", verifies_numbers=True))
    claiming = verifying.with_key(make_key("plain"))
    r = register(verifying, "inst-verified-1", msisdn="0912 345 678")
    assert r.status_code == 201 and (r.json["msisdn"], r.json["msisdn_verified"]) == (
        "+84912345678", True)
    r = register(claiming, "inst-claimed-1", msisdn="+84912345678")
    # One number, several devices; this one only claims it.
    assert r.status_code == 201 and r.json["msisdn_verified"] is False
    assert device("inst-verified-1").msisdn == device("inst-claimed-1").msisdn
    # The claiming key repeating the verified number changes nothing; another number is a claim.
    r = claiming.put("/api/app/devices/inst-verified-1/msisdn", json={"msisdn": "0912345678"})
    assert r.status_code == 200 and r.json["msisdn_verified"] is True
    r = claiming.put("/api/app/devices/inst-verified-1/msisdn", json={"msisdn": "0987654321"})
    assert (r.json["msisdn"], r.json["msisdn_verified"]) == ("+84987654321", False)
    # A device has at most one number: the verifying key's replaces it; signing out clears it.
    r = verifying.put("/api/app/devices/inst-verified-1/msisdn", json={"msisdn": "0912345678"})
    assert (r.json["msisdn"], r.json["msisdn_verified"]) == ("+84912345678", True)
    r = verifying.delete("/api/app/devices/inst-verified-1/msisdn")
    assert r.status_code == 200 and (r.json["msisdn"], r.json["msisdn_verified"]) == (None, False)


def test_a_number_is_read_never_repaired_and_nothing_is_half_written(app, client):
    app_api = AppClient(client, make_key("otp", verifies_numbers=True))
    for bad in ("09l2345678", "0912345", "02923812345", "", "+84 91x 234 5678", "x" * 40):
        r = register(app_api, "inst-bad-0001", msisdn=bad)
        assert r.status_code == 422, (bad, r.json)
        assert "msisdn" in r.json["errors"], r.json
        assert db.session.scalar(db.select(Device).where(
            Device.installation_id == "inst-bad-0001")) is None  # not registered either
    assert register(app_api, "inst-bad-0001").status_code == 201
    for bad in ("09l2345678", None, 912345678, ["0912345678"]):
        r = app_api.put("/api/app/devices/inst-bad-0001/msisdn", json={"msisdn": bad})
        assert r.status_code == 422 and "msisdn" in r.json["errors"], (bad, r.json)
    assert device("inst-bad-0001").msisdn is None


def test_another_installations_secret_is_refused(app, client):
    app_api = AppClient(client, make_key("otp", verifies_numbers=True))
    assert register(app_api, "inst-mine-0001", msisdn="0912345678").status_code == 201
    assert register(app_api, "inst-other-001").status_code == 201
    mine_secret = app_api.secrets["inst-mine-0001"]
    thief = app_api.another_copy()
    c = make_campaign(channels="both", strategy="app_then_sms", fallback_minutes=30)
    db.session.add(Message(campaign_id=c.id, channel="push", recipient_id=device(
        "inst-mine-0001").id, status=S.SUBMITTED))
    db.session.commit()
    for method, path, body in (("PUT", "msisdn", {"msisdn": "0987654321"}),
                               ("DELETE", "msisdn", None),
                               ("POST", "opened", {"campaign_id": c.id})):
        # The other installation's id with my secret, and my id with no secret.
        r = thief.request(method, f"/api/app/devices/inst-other-001/{path}", json=body,
                          headers={"X-Installation-Secret": mine_secret})
        assert r.status_code == 403 and r.json["code"] == "installation_secret_invalid", r.json
        r = thief.request(method, f"/api/app/devices/inst-mine-0001/{path}", json=body)
        assert r.status_code == 401, r.json
    assert device("inst-mine-0001").msisdn == "+84912345678"
    assert db.session.scalar(db.select(Message.opened_at)) is None


def test_an_installation_opens_only_what_it_was_sent_once(app, client):
    app_api = AppClient(client, make_key())
    for name in ("inst-open-0001", "inst-open-0002"):
        assert register(app_api, name).status_code == 201
    one, two = device("inst-open-0001"), device("inst-open-0002")
    sent = make_campaign(channels="both", strategy="app_then_sms", fallback_minutes=30)
    refused = make_campaign(channels="both", strategy="app_then_sms", fallback_minutes=30)
    db.session.add_all([
        Message(campaign_id=sent.id, channel="push", recipient_id=one.id, status=S.SUBMITTED),
        Message(campaign_id=sent.id, channel="push", recipient_id=two.id, status=S.SUBMITTED),
        Message(campaign_id=refused.id, channel="push", recipient_id=one.id, status=S.FAILED,
                reason="UNREGISTERED")])
    db.session.commit()
    path = "/api/app/devices/inst-open-0001/opened"
    first = app_api.post(path, json={"campaign_id": sent.id})
    assert first.status_code == 200, first.json
    again = app_api.post(path, json={"campaign_id": sent.id})
    assert again.status_code == 200 and again.json["opened_at"] == first.json["opened_at"]
    for other in (refused.id, sent.id + refused.id + 100):  # refused by FCM; never existed
        r = app_api.post(path, json={"campaign_id": other})
        assert r.status_code == 404 and r.json["code"] == "not_sent", r.json
    for bad in ("1", -1, 0, 2**40, None, 1.5):
        r = app_api.post(path, json={"campaign_id": bad})
        assert r.status_code == 422 and "campaign_id" in r.json["errors"], (bad, r.json)
    r = app_api.post(path, json={"campaign_id": sent.id, "extra": 1})
    assert r.status_code == 422
    db.session.expire_all()
    opened = dict(db.session.execute(db.select(Message.recipient_id, Message.opened_at)
                                     .where(Message.campaign_id == sent.id)).all())
    assert opened[one.id] is not None and opened[two.id] is None  # only its own row


# The limits live in Redis, not the database: once, on the production database.
@pytest.mark.postgres_only
def test_ten_thousand_calls_are_limited_never_a_5xx(app, client, redis):
    app_api = AppClient(client, make_key())
    assert register(app_api, "inst-flood-001").status_code == 201
    c = make_campaign(channels="both", strategy="app_then_sms", fallback_minutes=30)
    db.session.add(Message(campaign_id=c.id, channel="push",
                           recipient_id=device("inst-flood-001").id, status=S.SUBMITTED))
    db.session.commit()
    headers = {"X-App-Key": app_api.key or "",
               "X-Installation-Secret": app_api.secrets["inst-flood-001"]}
    url = "/api/app/devices/inst-flood-001/"
    seen: dict[int, int] = {}
    started = time.monotonic()
    for i in range(10_000):  # the bare test client: the calls themselves are the cost here
        if i % 2:
            r = client.post(url + "opened", json={"campaign_id": c.id}, headers=headers)
        else:
            r = client.put(url + "msisdn", json={"msisdn": f"09{i:08d}"}, headers=headers)
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
    minutes = math.ceil((time.monotonic() - started) / 60)
    assert set(seen) <= {200, 429}, seen
    # The installation's 30 a minute (the address's 300 comes later): the rest are 429. A
    # sliding minute lets 30 more through for every minute the calls took (over a minute on a
    # slow machine), never more.
    assert 30 <= seen[200] <= 30 * (minutes + 1) and seen[429] == 10_000 - seen[200], seen
    r = register(app_api.another_copy(), "inst-elsewhere", environ_base={
        "REMOTE_ADDR": "198.51.100.7"})
    assert r.status_code == 201  # another address is not held back by the flood


def test_admins_mark_a_key_as_verifying_numbers(app, api, people):
    admin = api.as_(people["admin"])
    r = admin.post("/api/app-keys", json={"name": "Ứng dụng tỉnh"})
    assert r.status_code == 201 and r.json["verifies_numbers"] is False
    key_id = r.json["id"]
    r = admin.patch(f"/api/app-keys/{key_id}", json={"verifies_numbers": True})
    assert r.status_code == 200 and r.json["verifies_numbers"] is True
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "appkey.update")
                               ).one()
    assert event.details["after"]["verifies_numbers"] is True
    r = admin.patch(f"/api/app-keys/{key_id}", json={"verifies_numbers": "yes"})
    assert r.status_code == 422 and "verifies_numbers" in r.json["errors"]
    editor = api.as_(people["editor"])
    assert editor.patch(f"/api/app-keys/{key_id}", json={"verifies_numbers": False}
                        ).status_code == 403
    assert db.session.get(Campaign, 1) is None  # nothing else was touched
