"""Push opt-out and opt-in from the app, audited and honoured by audience counts."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.campaigns.audience import push_recipients
from dispatch.extensions import db
from dispatch.models import AppKey, AuditEvent, OptOut

INST = "fid-4f0c2a9e7b1d"
URL = f"/api/app/devices/{INST}"


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_opt_out_and_back_in(app_api, body, backend):
    app_api.put(URL, json=body)
    everyone = {"all_app_users": True}
    assert push_recipients(everyone) == 1

    out = app_api.post(f"{URL}/opt-out", json={"reason": "too many"})
    assert out.status_code == 200 and out.json["opted_out"]
    assert app_api.post(f"{URL}/opt-out").json["opted_out"]  # idempotent, no body needed
    row = db.session.scalar(select(OptOut))
    assert (row.channel, row.address, row.source, row.reason) == ("push", INST, "api", "too many")
    assert push_recipients(everyone) == 0

    [created] = events("optout.create")
    key = db.session.scalar(select(AppKey))
    assert created.actor_id is None and created.entity_id == str(row.id)
    assert created.details["app_key"] == {"id": key.id, "name": key.name, "prefix": key.prefix}
    assert created.details["address"] == INST and created.details["channel"] == "push"

    back = app_api.delete(f"{URL}/opt-out")
    assert back.status_code == 200 and not back.json["opted_out"]
    assert app_api.delete(f"{URL}/opt-out").status_code == 200  # idempotent
    assert db.session.scalar(select(OptOut)) is None
    [deleted] = events("optout.delete")
    assert deleted.details["source"] == "api" and deleted.actor_id is None
    assert push_recipients(everyone) == 1


def test_opting_back_in_lifts_a_staff_opt_out(app_api, body, backend):
    app_api.put(URL, json=body)
    db.session.add(OptOut(channel="push", address=INST, source="staff", reason="phoned in"))
    db.session.commit()
    assert app_api.get(URL).json["opted_out"]
    assert app_api.post(f"{URL}/opt-out").status_code == 200
    assert events("optout.create") == []  # already opted out: nothing changed
    assert not app_api.delete(f"{URL}/opt-out").json["opted_out"]
    assert events("optout.delete")[0].details["source"] == "staff"


def test_opt_out_survives_re_registration(app_api, body, backend):
    app_api.put(URL, json=body)
    app_api.post(f"{URL}/opt-out")
    again = app_api.put(URL, json=body)
    assert again.json["opted_out"] and again.json["active"]


def test_opt_out_rejects_unknown_fields(app_api, body, backend):
    app_api.put(URL, json=body)
    r = app_api.post(f"{URL}/opt-out", json={"why": "x"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"why"}
