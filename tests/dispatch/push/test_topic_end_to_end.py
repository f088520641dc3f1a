"""A push campaign that can go as one topic message, driven as people drive it: devices register
through the app API, staff draft, approve and launch through the JSON API, the expand job and
the send job run on a real RQ worker, and the FCM stand-in counts what reached it."""

from __future__ import annotations

from typing import Any

from dispatch.engine import clock
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.push import AppClient, fcm_token, make_key, work
from tests.helpers.web import Pages

PUSH = {"channels": "push", "push_title": "Thông báo khẩn",
        "push_body": "Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
        "push_link": "haugiang://tin/1"}


def _register(app_api: AppClient, n: int, locality: str, topics: list[str],
              first: int = 0) -> None:
    """`n` installations registering as the app does: token, locality and their topics."""
    for i in range(first, first + n):
        r = app_api.put(f"/api/app/devices/fid-{i:05d}", json={
            "fcm_token": fcm_token(f"good-{i}-"), "platform": "android", "locality": locality,
            "topics": topics})
        assert r.status_code == 201, r.json


def _launch(api: Any, people: dict[str, Any], audience: dict[str, Any]) -> int:
    editor, approver = api.as_(people["editor"]), api.as_(people["approver"])
    cid = api_draft(editor, title="Triều cường", **PUSH, audience=audience)
    api_launch(editor, approver, cid)
    return cid


def test_all_app_users_go_as_one_topic_request(app, api, people, client, fcm, backend):
    app.config["PUSH_TOPIC_SENDS"] = True
    app_api = AppClient(client, make_key())
    _register(app_api, 12, "vi-thanh", ["all", "loc-vi-thanh"])
    _register(app_api, 8, "nga-bay", ["all", "loc-nga-bay"], first=12)
    cid = _launch(api, people, {"all_app_users": True})

    work()  # the expand job, then the topic send it enqueued
    counters = fcm.counters()
    # One request for twenty devices, addressed to the topic, and no device addressed alone.
    assert counters["requests"] == 1 and counters["by_topic"] == {"all": 1}, counters
    assert counters["by_token"] == {}
    [message] = fcm.messages()
    assert message["notification"]["title"] == PUSH["push_title"]
    assert message["data"] == {"link": PUSH["push_link"]}
    assert clock.tick(app.config).get("completed") == 1

    editor = api.as_(people["editor"])
    campaign = editor.get(f"/api/campaigns/{cid}").json
    assert (campaign["status"], campaign["push_mode"]) == ("completed", "topic")
    # The campaign page tells staff the same, in Vietnamese.
    browser = Pages(app.test_client())
    assert browser.sign_in(people["editor"]).status_code == 302
    page = browser.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "Cách gửi:" in page and "một thông báo theo chủ đề" in page
    assert campaign["push_mode_reason"] == "topic?topic=all&devices=20"  # a code, for machines
    # Progress counts ledger rows: the topic send is one, final once FCM accepted it.
    progress = editor.get(f"/api/campaigns/{cid}/progress").json
    assert (progress["total"], progress["final"], progress["unsent"]) == (1, 1, 0)
    assert progress["percent_done"] == 100.0
    assert progress["by_channel"] == {"push": {"submitted": 1}}
    assert progress["parts_submitted"] == 0

    report = editor.get(f"/api/campaigns/{cid}/report").json
    push = report["by_channel"]["push"]
    assert (push["targeted"], push["submitted"], push["accepted_by_fcm"], push["delivered"],
            push["parts_billed"], push["cost_vnd"]) == (1, 1, 1, 0, 0, 0)
    # The devices the one request stood for: recorded when the mode was chosen.
    assert report["not_in_ledger"]["topic_devices"] == 20
    assert report["campaign"]["push_mode"] == "topic"
    assert any("one topic send" in note and "devices=20" in note
               for note in report["notes"])
    summary = editor.get("/api/reports/summary").json
    assert summary["total"]["accepted_by_fcm"] == 1 and summary["total"]["parts_billed"] == 0
    assert (f"Campaign {cid} (Triều cường): the push went as one topic send to 'all', for the "
            "20 devices of its audience, counted as one ledger row.") in summary["notes"]
    export = editor.get(f"/api/campaigns/{cid}/export.csv")
    assert export.status_code == 403  # editors see reports; exporting the ledger is approvers'
    rows = api.as_(people["approver"]).get(f"/api/campaigns/{cid}/export.csv").get_data(
        as_text=True).splitlines()
    assert len(rows) == 2 and ",push,topic," in rows[1] and ",submitted," in rows[1]


def test_one_locality_goes_to_its_topic(app, api, people, client, fcm, backend):
    app.config["PUSH_TOPIC_SENDS"] = True
    app_api = AppClient(client, make_key())
    _register(app_api, 5, "vi-thanh", ["all", "loc-vi-thanh"])
    _register(app_api, 3, "nga-bay", ["all", "loc-nga-bay"], first=5)
    cid = _launch(api, people, {"localities": ["vi-thanh"]})
    work()
    counters = fcm.counters()
    assert counters["requests"] == 1 and counters["by_topic"] == {"loc-vi-thanh": 1}, counters
    assert clock.tick(app.config).get("completed") == 1
    campaign = api.as_(people["editor"]).get(f"/api/campaigns/{cid}").json
    assert campaign["push_mode"] == "topic"
    assert campaign["push_mode_reason"] == "topic?topic=loc-vi-thanh&devices=5"


def test_an_opted_out_subscriber_sends_per_device_and_says_why(
        app, api, people, client, fcm, backend):
    app.config["PUSH_TOPIC_SENDS"] = True
    app_api = AppClient(client, make_key())
    _register(app_api, 6, "vi-thanh", ["all", "loc-vi-thanh"])
    # The person turned pushes off in the app, which still holds its topic subscriptions:
    # a topic message would reach them, so every device gets its own request instead.
    assert app_api.post("/api/app/devices/fid-00002/opt-out", json={}).status_code == 200
    cid = _launch(api, people, {"all_app_users": True})
    work()
    counters = fcm.counters()
    assert counters["by_topic"] == {} and counters["sent"] == 5, counters
    assert clock.tick(app.config).get("completed") == 1
    editor = api.as_(people["editor"])
    campaign = editor.get(f"/api/campaigns/{cid}").json
    assert campaign["push_mode"] == "devices"
    assert campaign["push_mode_reason"] == "outside_subscribed?outside=1&topic=all"
    report = editor.get(f"/api/campaigns/{cid}/report").json
    push = report["by_channel"]["push"]
    assert (push["targeted"], push["accepted_by_fcm"], push["suppressed_by_reason"]) == (
        6, 5, {"opt_out": 1})
    assert "topic_devices" not in report["not_in_ledger"]
    # Pushes are not SMS parts: five accepted pushes bill nothing and count no parts.
    assert push["parts_billed"] == 0
    assert editor.get(f"/api/campaigns/{cid}/progress").json["parts_submitted"] == 0


def test_paused_topic_send_goes_once_on_resume(app, api, people, client, fcm, backend):
    app.config["PUSH_TOPIC_SENDS"] = True
    app_api = AppClient(client, make_key())
    _register(app_api, 4, "vi-thanh", ["all", "loc-vi-thanh"])
    cid = _launch(api, people, {"all_app_users": True})
    editor = api.as_(people["editor"])
    r = editor.post(f"/api/campaigns/{cid}/pause", json={"reason": "kiểm tra nội dung"})
    assert r.status_code == 200 and r.json["status"] == "paused"
    work()  # expansion still runs while paused; the topic send must not
    assert fcm.counters()["requests"] == 0
    assert editor.get(f"/api/campaigns/{cid}/progress").json["by_status"] == {"queued": 1}
    r = editor.post(f"/api/campaigns/{cid}/resume")
    assert r.status_code == 200 and r.json["status"] == "sending"
    work()  # the requeue job the resume enqueued, then the topic send
    work()
    assert fcm.counters()["by_topic"] == {"all": 1}
    assert clock.tick(app.config).get("completed") == 1
