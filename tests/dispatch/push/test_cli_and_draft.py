"""`flask push test` exit codes, and FCM's payload limit checked when a draft is written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from dispatch.extensions import db
from dispatch.models import Campaign
from gateways.fcm import PushContent, payload_size
from tests.helpers.campaigns import Flow


def test_push_test_prints_the_message_name(fcm, app):
    result = app.test_cli_runner().invoke(
        args=["push", "test", "good-device", "--title", "Thử", "--body", "Kiểm tra kết nối"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("projects/loa-test/messages/")
    [message] = fcm.messages()
    assert message["token"] == "good-device"
    assert message["notification"] == {"title": "Thử", "body": "Kiểm tra kết nối"}


def test_push_test_maps_errors_to_a_non_zero_exit(fcm, app):
    runner = app.test_cli_runner()
    dead = runner.invoke(args=["push", "test", "unregistered-x", "--title", "T", "--body", "B"])
    assert dead.exit_code == 1
    assert "dead_token: UNREGISTERED" in dead.output
    fcm.refuse_auth = True
    refused = runner.invoke(args=["push", "test", "good-x", "--title", "T", "--body", "B"])
    assert refused.exit_code == 1 and "refused the service account" in refused.output
    app.config["FCM_CREDENTIALS"] = None
    missing = runner.invoke(args=["push", "test", "good-x", "--title", "T", "--body", "B"])
    assert missing.exit_code == 1 and "LOA_FCM_CREDENTIALS" in missing.output


def test_payload_over_the_limit_is_refused_at_draft_time(backend, api, people):
    flow = Flow(api, people)
    push_fields: dict[str, Any] = {
        "channels": "push", "audience": {"all_app_users": True},
        "push_title": "ệ" * 200, "push_body": "ệ" * 1000, "push_data": {"chi_tiet": "ệ" * 200},
    }
    size = payload_size(PushContent(title="ệ" * 200, body="ệ" * 1000,
                                    data={"chi_tiet": "ệ" * 200}))
    assert size > 4096
    resp = flow.as_("editor").post("/api/campaigns", json=flow.body(**push_fields))
    assert resp.status_code == 422
    # Named: the biggest field, and by how many bytes the whole is over.
    [message] = resp.json["errors"]["push_body"]
    assert f"{size:,} bytes, {size - 4096:,} over FCM's 4,096-byte limit" in message

    ok = flow.create(**push_fields | {"push_data": {}})
    resp = flow.as_("editor").patch(f"/api/campaigns/{ok['id']}",
                                    json={"push_data": {"google_id": "1"}})
    assert resp.status_code == 422
    assert resp.json["errors"] == {"push_data.google_id": ["Is a key reserved by FCM."]}


def test_submission_checks_the_whole_push_payload(backend, api, people):
    flow = Flow(api, people)
    c = flow.create(channels="push", audience={"all_app_users": True},
                    push_title="ệ" * 200, push_body="ệ" * 1000)
    # Edits are checked with the stored fields (tests/dispatch/campaigns/test_push_payload.py);
    # submission checks again, for a row that was written some other way.
    db.session.execute(update(Campaign).where(Campaign.id == c["id"])
                       .values(push_data={"chi_tiet": "ệ" * 200}))
    db.session.commit()
    resp = flow.act("editor", c["id"], "submit")
    assert resp.status_code == 422
    [message] = resp.json["errors"]["push_body"]
    assert "over FCM's 4,096-byte limit" in message
