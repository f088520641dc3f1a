"""Audience estimates (SQL aggregates) and the campaign preview built on them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.campaigns import audience
from dispatch.extensions import db
from dispatch.models import Device, Locality, OptOut
from tests.helpers.factories import make_contact, make_list


@pytest.fixture()
def town(app):
    """Two communes below Phụng Hiệp, a list of voters and an exclusion list."""
    parent = db.session.scalar(select(Locality).where(Locality.code == "phung-hiep"))
    for code in ("ph-tan-long", "ph-hiep-hung"):
        db.session.add(Locality(code=code, name=code, kind="commune", parent_id=parent.id))
    db.session.commit()
    c1 = make_contact("+84961000001", "viettel", locality="vi-thanh")
    c2 = make_contact("+84911000002", "vinaphone", override="mobifone")  # ported
    c3 = make_contact("+84901000003", "mobifone")  # only in the other list
    c4 = make_contact("+84961000004", "viettel")  # excluded
    make_contact("+84961000005", "viettel", locality="ph-tan-long")  # by locality
    c6 = make_contact("+84961000006", "viettel")  # opted out of SMS
    c7 = make_contact("+84921000007", "weird")  # an operator code Loa does not know
    c8 = make_contact("+84961000008", "viettel", locality="ph-hiep-hung")  # list and locality
    voters = make_list("Cử tri", [c1, c2, c4, c6, c7, c8])
    other = make_list("Khác", [c3])
    excluded = make_list("Loại trừ", [c4])
    db.session.add(OptOut(channel="sms", address=c6.msisdn, source="keyword"))
    db.session.add(OptOut(channel="push", address="inst-4", source="api"))
    devices = [("inst-1", "vi-thanh", None), ("inst-2", "ph-tan-long", None),
               ("inst-3", "phung-hiep", "unregistered"), ("inst-4", "ph-hiep-hung", None),
               ("inst-5", None, None)]
    for inst, place, disabled in devices:
        loc = db.session.scalar(select(Locality.id).where(Locality.code == place))
        db.session.add(Device(installation_id=inst, fcm_token=f"tok-{inst}", platform="android",
                              locality_id=loc, disabled_reason=disabled,
                              disabled_at=db.func.now() if disabled else None))
    db.session.commit()
    return {"voters": voters.id, "other": other.id, "excluded": excluded.id}


def test_sms_recipients_per_effective_operator(town, backend):
    defined = {"lists": [town["voters"]], "exclude_lists": [town["excluded"]],
               "localities": ["phung-hiep"]}
    # c1, c5 (commune below Phụng Hiệp) and c8 (both ways, once) on Viettel; c2 ported to
    # MobiFone; c7 as "other"; c4 excluded, c6 opted out, c3 not targeted.
    assert audience.sms_recipients(defined) == {"viettel": 3, "mobifone": 1, "other": 1}
    assert audience.sms_recipients({"lists": [town["other"]]}) == {"mobifone": 1}
    assert audience.sms_recipients({"localities": ["vi-thanh"]}) == {"viettel": 1}
    assert audience.sms_recipients({}) == {}


def test_push_recipients_are_active_devices_in_the_localities(town, backend):
    assert audience.push_recipients({"localities": ["phung-hiep"]}) == 1  # inst-2
    assert audience.push_recipients({"localities": ["vi-thanh", "ph-hiep-hung"]}) == 1
    assert audience.push_recipients({"all_app_users": True}) == 3  # inst-1, 2, 5
    # Lists do not reach devices.
    assert audience.push_recipients({"lists": [town["voters"]]}) == 0


def test_campaign_preview_counts_and_costs(flow, town, backend):
    body = flow.body(channels="both", push_title="Đại hội", push_body="Khai mạc hôm nay.",
                     audience={"lists": [town["voters"]], "exclude_lists": [town["excluded"]],
                               "localities": ["phung-hiep"]})
    c = flow.as_("editor").post("/api/campaigns", json=body).json
    resp = flow.as_("admin").get(f"/api/campaigns/{c['id']}/preview")
    assert resp.status_code == 200, resp.json
    preview = resp.json
    assert preview["recipients"] == {"sms": {"viettel": 3, "mobifone": 1, "other": 1},
                                     "push": 1}
    sms = preview["sms"]
    assert sms["original"]["encoding"] == "ucs2" and sms["plain"]["encoding"] == "gsm7"
    assert sms["totals"]["recipients"] == 5
    assert sms["totals"]["original"]["cost"] == 5 * sms["original"]["parts"] * 800

    push_only = flow.as_("editor").patch(f"/api/campaigns/{c['id']}",
                                         json={"channels": "push"}).json
    preview = flow.as_("editor").get(f"/api/campaigns/{push_only['id']}/preview").json
    assert preview["recipients"] == {"push": 1} and preview["sms"] is None


def test_preview_of_an_incomplete_draft(flow, backend):
    c = flow.as_("editor").post("/api/campaigns", json={"title": "Nháp trống"}).json
    preview = flow.as_("editor").get(f"/api/campaigns/{c['id']}/preview").json
    assert preview["recipients"] == {"sms": {}}
    assert preview["sms"]["original"]["parts"] in (0, 1)
