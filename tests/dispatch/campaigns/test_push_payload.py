"""FCM's push payload limit, checked on the whole push whether a draft is created or edited.

The error names the field to shorten and by how many bytes the whole is over, and a refused
request stores nothing: no campaign, no new version, no audit event, no voided approval.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign
from gateways.fcm import PushContent, payload_size
from tests.helpers.campaigns import Flow

TITLE, BODY, DATA = "ệ" * 200, "ệ" * 1000, {"chi_tiet": "ệ" * 200}  # "ệ" is 3 bytes in UTF-8
PUSH: dict[str, Any] = {"channels": "push", "audience": {"all_app_users": True},
                        "push_title": TITLE, "push_body": BODY}


def over(size: int) -> str:
    return (f"The push is {size:,} bytes, {size - 4096:,} over FCM's 4,096-byte limit: "
            f"shorten it by at least {size - 4096:,} bytes")


def audit_events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_create_refuses_a_push_over_4_kb_and_stores_nothing(flow: Flow, backend):
    size = payload_size(PushContent(title=TITLE, body=BODY, data=DATA))
    assert size > 4096 and payload_size(PushContent(title=TITLE, body=BODY)) <= 4096
    editor = flow.as_("editor")  # its API token is audited: created before counting
    events = audit_events()
    resp = editor.post("/api/campaigns", json=flow.body(**PUSH, push_data=DATA))
    assert resp.status_code == 422, resp.json
    # Named: the biggest field (trimming it helps most), and the bytes over.
    assert list(resp.json["errors"]) == ["push_body"]
    assert resp.json["errors"]["push_body"][0].startswith(over(size))
    assert resp.json["message"].startswith("push_body: " + over(size))
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert audit_events() == events


def test_an_edit_that_fits_alone_but_not_with_the_rest_is_refused(flow: Flow, backend):
    c = flow.create(**PUSH)
    events = audit_events()
    size = payload_size(PushContent(title=TITLE, body=BODY, data=DATA))
    # The edit alone is 600 bytes of data; with the stored title and body it passes 4 KB.
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"push_data": DATA})
    assert resp.status_code == 422, resp.json
    assert list(resp.json["errors"]) == ["push_body"]
    assert resp.json["errors"]["push_body"][0].startswith(over(size))
    stored = flow.get(c["id"])
    assert (stored["version"], stored["push_data"], stored["push_body"]) == (1, {}, BODY)
    assert audit_events() == events
    # Shortening the body makes room for the same data.
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}",
                                    json={"push_data": DATA, "push_body": "ệ" * 700})
    assert resp.status_code == 200, resp.json
    assert resp.json["version"] == 2 and resp.json["push_data"] == DATA


def test_a_refused_edit_leaves_a_submitted_campaign_as_it_was(flow: Flow, backend):
    c = flow.to("approved", **PUSH)
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"push_data": DATA})
    assert resp.status_code == 422, resp.json
    size = payload_size(PushContent(title=TITLE, body=BODY, data=DATA))
    assert resp.json["errors"]["push_body"][0].startswith(over(size))
    stored = flow.get(c["id"])
    # Not returned to draft: the approval stands, on the content it approved.
    assert (stored["status"], stored["version"], stored["push_data"]) == ("approved", 1, {})
    assert stored["snapshot_hash"] == c["snapshot_hash"]
    assert flow.ok("editor", c["id"], "launch")["status"] == "sending"


def test_the_edit_is_checked_with_the_stored_deep_link(flow: Flow, backend):
    c = flow.create(**PUSH, push_link="haugiang://tin/1")
    # The deep link travels as data["link"]: a data key of that name would collide with it.
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"push_data": {"link": "x"}})
    assert resp.status_code == 422, resp.json
    assert resp.json["errors"] == {"push_data.link": ["Is taken by the deep link."]}
    assert flow.get(c["id"])["version"] == 1


def test_between_the_topic_and_the_device_limit_is_accepted(flow: Flow, backend):
    # 2-4 KB is too big for a topic message, not for a device one: such a campaign is sent
    # per device (dispatch.push.topic.choose_push_mode), so the draft is fine.
    body = "ệ" * 900
    assert 2048 < payload_size(PushContent(title="Tin", body=body)) <= 4096
    c = flow.create(**PUSH | {"push_title": "Tin", "push_body": body})
    resp = flow.as_("editor").patch(f"/api/campaigns/{c['id']}", json={"push_title": "Tin mới"})
    assert resp.status_code == 200, resp.json
