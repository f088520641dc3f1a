"""A strategy is content: checked when written, frozen in the snapshot, voided by an edit.

`both` (the default) adds nothing to the snapshot, so campaigns approved before strategies
existed keep their hash and their approval.
"""

from __future__ import annotations

from dispatch.campaigns import content
from dispatch.extensions import db
from dispatch.models import Campaign
from tests.helpers.campaigns import Flow


def both(flow: Flow, **over):
    body = {"push_title": "Cắt điện", "push_body": "Ngày 5/12.", "channels": "both",
            "audience": {"lists": [flow.list.id], "all_app_users": True}}
    return flow.create(**(body | over))


def test_the_default_leaves_the_snapshot_and_its_hash_as_they_were(app, api, people):
    flow = Flow(api, people)
    c = db.session.get(Campaign, both(flow)["id"])
    snap = content.snapshot(c)
    assert "strategy" not in snap and "fallback_minutes" not in snap
    c.strategy = "app_first"
    assert content.snapshot(c)["strategy"] == "app_first"
    assert "fallback_minutes" not in content.snapshot(c)
    c.strategy, c.fallback_minutes = "app_then_sms", 45
    assert content.snapshot(c) | {} == snap | {"strategy": "app_then_sms",
                                               "fallback_minutes": 45}


def test_strategies_are_checked_naming_the_field(app, api, people):
    flow = Flow(api, people)
    editor = flow.as_("editor")
    r = editor.post("/api/campaigns", json=flow.body(strategy="app_first"))  # SMS only
    assert r.status_code == 422 and "strategy" in r.json["errors"], r.json
    for bad in ("cheapest", "", None, 1):
        r = editor.post("/api/campaigns", json=flow.body(channels="both", strategy=bad))
        assert r.status_code == 422 and "strategy" in r.json["errors"], (bad, r.json)
    for minutes in (4, 24 * 60, "30", 10**6):  # the validity is 24 hours
        r = editor.post("/api/campaigns", json=flow.body(
            channels="both", strategy="app_then_sms", fallback_minutes=minutes))
        assert r.status_code == 422 and "fallback_minutes" in r.json["errors"], (minutes, r.json)
    made = both(flow, strategy="app_then_sms")
    assert (made["strategy"], made["fallback_minutes"]) == ("app_then_sms", 30)  # the default
    # Changing the channels away from both leaves a strategy that cannot be submitted.
    r = editor.patch(f"/api/campaigns/{made['id']}", json={"channels": "sms"})
    assert r.status_code == 200
    r = flow.act("editor", made["id"], "submit")
    assert r.status_code == 422 and "strategy" in r.json["errors"], r.json


def test_an_edit_of_the_strategy_voids_the_approval(app, api, people):
    flow = Flow(api, people)
    cid = both(flow, strategy="app_first")["id"]
    flow.submit(cid)
    frozen = flow.get(cid, "approver")
    assert frozen["snapshot"]["strategy"] == "app_first"
    flow.ok("approver", cid, "approve", snapshot_hash=frozen["snapshot_hash"])
    r = flow.as_("editor").patch(f"/api/campaigns/{cid}", json={"strategy": "both"})
    assert r.status_code == 200 and r.json["status"] == "draft", r.json
