"""Each channel strategy, end to end through the SMSC and FCM stand-ins, with a mix of people.

Six numbers in the list and seven installations of the app:
- p1: a verified device whose user opens the notification;
- p2: a verified device FCM refuses (a dead token);
- p3: a verified device whose notification is never opened;
- p4: a device with a claimed number only (the app key does not verify numbers);
- p5: no device;
- p6: two verified devices, one refused, one opened;
- one more device with no number at all.
What each stand-in received is the proof, not the ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from dispatch.engine import clock, fallback, progress
from dispatch.extensions import db
from dispatch.models import Campaign
from dispatch.models.common import utcnow
from scripts.harness import wait_for
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.engine import work
from tests.helpers.factories import upload_import
from tests.helpers.push import AppClient, fcm_token, make_key
from tests.helpers.sms import counts as sms_counts
from tests.helpers.sms import per_destination

NUMBERS = {f"p{i}": f"096{i:07d}" for i in range(1, 7)}
E164 = {k: "+84" + v[1:] for k, v in NUMBERS.items()}
# installation -> (number it tells, verified?, token seed: refused by FCM when "unregistered-")
DEVICES = {
    "fid-p1-aaaaa": ("p1", True, "ok-p1-"),
    "fid-p2-aaaaa": ("p2", True, "unregistered-p2-"),
    "fid-p3-aaaaa": ("p3", True, "ok-p3-"),
    "fid-p4-aaaaa": ("p4", False, "ok-p4-"),
    "fid-p6-aaaaa": ("p6", True, "unregistered-p6-"),
    "fid-p6-bbbbb": ("p6", True, "ok-p6b-"),
    "fid-none-aaa": (None, False, "ok-none-"),
}
OPENS = ("fid-p1-aaaaa", "fid-p6-bbbbb")
ACCEPTED = {i for i, (_, _, seed) in DEVICES.items() if not seed.startswith("unregistered-")}
TEXT = "Lich cat dien ngay 5/12 tai phuong 1, tu 8 gio den 11 gio."


def setup_people(api: Any, people: dict[str, Any], client: Any, port: int) -> tuple[int, Any]:
    admin, editor = api.as_(people["admin"]), api.as_(people["editor"])
    r = admin.post("/api/smpp-accounts", json={
        "name": "viettel", "host": "127.0.0.1", "port": port, "system_id": "loa",
        "password": "secret", "tps": 5000, "window": 20, "operators": ["viettel"],
        "is_default": True, "brandnames": ["HAUGIANG"]})
    assert r.status_code == 201, r.json
    lst = editor.post("/api/lists", json={"name": "Khu phố 1"}).json
    body = "\n".join(["so_dien_thoai", *NUMBERS.values()]).encode()
    assert upload_import(editor, lst["id"], body, "ds.csv").json["imported_rows"] == 6
    verifying = AppClient(client, make_key("app-otp", verifies_numbers=True))
    claiming = verifying.with_key(make_key("app-cu"))
    for installation, (person, verified, seed) in DEVICES.items():
        app = verifying if verified else claiming
        body = {"fcm_token": fcm_token(seed), "platform": "android", "locality": "vi-thanh"}
        if person:
            body["msisdn"] = NUMBERS[person]
        r = app.put(f"/api/app/devices/{installation}", json=body)
        assert r.status_code == 201, r.json
        assert r.json["msisdn_verified"] is verified
    return lst["id"], verifying


def launch(api: Any, people: dict[str, Any], list_id: int, strategy: str) -> int:
    editor, approver = api.as_(people["editor"]), api.as_(people["approver"])
    cid = api_draft(editor, title=f"Cắt điện ({strategy})", channels="both",
                    strategy=strategy, sms_sender="HAUGIANG", sms_text=TEXT,
                    push_title="Cắt điện", push_body="Ngày 5/12, 8–11 giờ.",
                    audience={"lists": [list_id], "all_app_users": True})
    api_launch(editor, approver, cid)
    return cid


def pushed(fcm: Any) -> Counter[str]:
    """Installations FCM accepted a push for, by their tokens' seeds."""
    by_token = fcm.counters()["by_token"]
    seeds = {}
    for installation, (_, _, seed) in DEVICES.items():
        seeds[installation] = seed
    out: Counter[str] = Counter()
    for token, n in by_token.items():
        for installation, seed in seeds.items():
            if token.startswith(seed) and installation in ACCEPTED:
                out[installation] += n
    return out


def sms_to(smsc: Any) -> Counter[str]:
    return Counter({"+" + d.lstrip("+"): n for d, n in per_destination(smsc).items()})


def person_of(address: str) -> str:
    return next(k for k, v in E164.items() if v == address)


EXPECTED_SMS = {
    "both": {"p1", "p2", "p3", "p4", "p5", "p6"},
    "app_first": {"p4", "p5"},
    # p4, p5 directly; p2 after FCM refused it, p3 once its push went unopened too long.
    "app_then_sms": {"p2", "p3", "p4", "p5"},
}


@pytest.mark.parametrize("strategy", ["both", "app_first", "app_then_sms"])
def test_each_strategy_sends_exactly_the_expected_messages(
        app, api, people, client, smsc, smpp, fcm, backend, strategy):
    list_id, app_api = setup_people(api, people, client, smsc.port)
    cid = launch(api, people, list_id, strategy)
    c = db.session.get(Campaign, cid)
    approved = c.frozen_reach
    work()  # expansion and the push batches
    # The push goes to every active device, whatever the strategy; FCM refused two.
    assert pushed(fcm) == Counter(dict.fromkeys(ACCEPTED, 1))
    assert fcm.counters()["errors"] == {"UNREGISTERED": 2}
    # app_then_sms tells the app which campaign to report opened; the others carry no such key.
    campaigns = {(m.get("data") or {}).get("loa_campaign") for m in fcm.messages()}
    assert campaigns == ({str(cid)} if strategy == "app_then_sms" else {None})
    smpp()
    direct = {"both": 6, "app_first": 2, "app_then_sms": 2}[strategy]
    assert wait_for(lambda: sms_counts(cid).get("delivered", 0) == direct, timeout=30)
    if strategy == "app_then_sms":
        for installation in OPENS:
            r = app_api.post(f"/api/app/devices/{installation}/opened",
                             json={"campaign_id": cid})
            assert r.status_code == 200, r.json
        # The clock's step: p2 (refused) goes now, p3 (accepted, unopened) is still waiting.
        assert clock.tick(app.config).get("fallback_refused") == 1
        assert wait_for(lambda: sms_counts(cid).get("delivered", 0) == 3, timeout=30)
        assert {person_of(a) for a in sms_to(smsc)} == {"p2", "p4", "p5"}
        db.session.expire_all()
        # Only p3's SMS is left, waiting for its push: the page says so, not "link down".
        assert progress.compute(db.session.get(Campaign, cid))["waiting_for"] == "fallback"
        later = utcnow() + timedelta(minutes=c.fallback_minutes + 1)
        assert fallback.step(db.session.get(Campaign, cid), later) == {"fallback_unopened": 1}
        assert fallback.step(db.session.get(Campaign, cid), later) == {}  # nothing twice
        assert wait_for(lambda: sms_counts(cid).get("delivered", 0) == 4, timeout=30)
    assert wait_for(lambda: clock.tick(app.config).get("completed") == 1, timeout=10)
    received = sms_to(smsc)
    assert {person_of(a) for a in received} == EXPECTED_SMS[strategy]
    assert set(received.values()) == {1}  # one part each, nobody twice

    # What the approver saw: per channel, and the SMS cost the worst case of the fallbacks.
    assert approved["push"]["devices"] == len(DEVICES)
    # app_then_sms: every covered number's fallback priced in (at worst, no push reaches).
    assert approved["sms"]["recipients"] == {"both": 6, "app_first": 2, "app_then_sms": 6}[
        strategy]
    if strategy == "both":
        assert "strategy" not in approved
    else:
        figures = approved["strategy"]
        assert figures["sms_all"]["recipients"] == 6
        assert figures["app_covered"] == 4  # p1, p2, p3, p6: verified, active at approval
        assert figures["sms_direct"]["recipients"] == 2
        price = figures["sms_all"]["cost_vnd"] // 6
        saved = {"app_first": 4 * price, "app_then_sms": 0}[strategy]
        assert figures["saving_vnd"] == saved
        assert figures["saving_max_vnd"] == 4 * price

    who = api.as_(people["approver"])
    report = who.get(f"/api/campaigns/{cid}/report").json
    # Numbers left to the app are approved members, not members who joined since.
    assert report["not_in_ledger"]["not_approved"] == 0, report["not_in_ledger"]
    # app_then_sms: the two whose push was opened are not sent the SMS the worst case priced.
    assert report["reach"]["no_longer_reached"] == {
        "sms": 2 if strategy == "app_then_sms" else 0, "push": 0}
    if strategy == "both":
        assert report["strategy"] is None
    else:
        by = report["strategy"]["people"]
        if strategy == "app_first":
            assert (by["app"], by["sms"], by["sms_fallback"]) == (4, 2, 0)
        else:
            assert (by["app_opened"], by["sms"], by["sms_fallback"], by["waiting"]) == (
                2, 2, 2, 0)
            assert report["strategy"]["fallback"] == {
                "refused": 1, "unopened": 1, "opened": 2, "waiting": 0}
            assert report["strategy"]["push_opened"] == 2
            rows = who.get(f"/api/campaigns/{cid}/report/people?msisdn={NUMBERS['p3']}").json
            assert [(r["reached_by"], r["fallback"]) for r in rows] == [
                ("sms_fallback", "unopened")]
            assert rows[0]["pushes"][0]["installation_id"] == "fid-p3-aaaaa"
    summary = who.get("/api/reports/summary").json
    [row] = [r for r in summary["campaigns"] if r["id"] == cid]
    assert (row["strategy"], row["fallback_sms"]) == (
        strategy, 2 if strategy == "app_then_sms" else 0)
