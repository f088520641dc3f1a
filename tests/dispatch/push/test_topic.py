"""Topic sends: when a campaign goes as one request, and that request's single ledger row."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.campaigns import notes
from dispatch.extensions import db
from dispatch.models import Message, MessagePart, OptOut
from dispatch.push import send as push
from dispatch.push.topic import TOPIC_RECIPIENT
from tests.helpers.push import make_campaign, make_device, work


def test_topic_only_when_allowed_and_it_reaches_exactly_the_audience(backend, fcm, app):
    make_device("good-1", topics=["all", "loc-vi-thanh"], locality="vi-thanh")
    make_device("good-2", topics=["all"], locality="nga-bay")
    everyone = make_campaign()
    town = make_campaign(audience={"localities": ["vi-thanh"]})
    two = make_campaign(audience={"localities": ["vi-thanh", "nga-bay"]})

    mode, why = push.choose_push_mode(everyone)
    assert (mode, why) == ("devices", "topics_off")
    app.config["PUSH_TOPIC_SENDS"] = True
    assert push.choose_push_mode(everyone) == (
        "topic", "topic?topic=all&devices=2")
    assert push.choose_push_mode(town)[0] == "topic"
    mode, why = push.choose_push_mode(two)
    assert (mode, why) == ("devices", "many_localities?localities=2")

    # A device of the audience that does not report the topic would miss the push.
    make_device("good-3", topics=[], locality="vi-thanh")
    mode, why = push.choose_push_mode(town)
    assert (mode, why) == ("devices", "not_subscribed?missing=1&targeted=2&topic=loc-vi-thanh")
    # An opted-out installation still subscribed would get it: opt-outs win.
    quiet = make_device("good-4", topics=["all"])
    db.session.add(OptOut(channel="push", address=quiet.installation_id, source="api"))
    db.session.commit()
    mode, why = push.choose_push_mode(make_campaign(audience={"all_app_users": True}))
    assert mode == "devices"
    # Over the 2 KB topic limit (but within 4 KB): per device.
    big = make_campaign(audience={"localities": ["nga-bay"]}, push_body="ă" * 1000)
    mode, why = push.choose_push_mode(big)
    assert mode == "devices" and why.startswith("payload_not_for_topic?")
    assert "2,048-byte limit" in notes.read(why)[1]["why"]


def test_a_topic_campaign_sends_one_request(backend, fcm, app):
    app.config["PUSH_TOPIC_SENDS"] = True
    for i in range(30):
        make_device(f"good-{i}", topics=["all"])
    c = make_campaign(push_mode=None)
    mode, reason = push.choose_push_mode(c)
    assert mode == "topic"
    row = push.prepare_topic(c, reason)
    db.session.commit()
    push.enqueue_topic(c)
    push.enqueue_topic(c)  # enqueued twice: still one request
    work()

    counters = fcm.counters()
    assert counters["requests"] == 1 and counters["by_topic"] == {"all": 1}
    message = db.session.get(Message, row)
    assert message is not None
    assert (message.recipient_id, message.status.value) == (TOPIC_RECIPIENT, "submitted")
    assert db.session.scalar(select(MessagePart.smsc_id).where(MessagePart.message_id == row))
    db.session.refresh(c)
    assert c.push_mode == "topic" and (c.push_mode_reason or "").startswith("topic?")
    assert db.session.query(Message).filter_by(campaign_id=c.id).count() == 1


def test_topic_send_without_its_row_writes_it_and_handles_refusal(backend, fcm, app):
    c = make_campaign(push_mode="topic", push_mode_reason="topic")
    fcm.refuse_auth = True
    push.enqueue_topic(c)  # as expansion does: no prepare_topic
    work()
    db.session.refresh(c)
    [row] = db.session.scalars(select(Message).where(Message.campaign_id == c.id)).all()
    assert row.status.value == "queued" and c.push_blocked
    fcm.refuse_auth = False
    assert push.unblock(c) == 1
    work()
    db.session.refresh(row)
    assert row.status.value == "submitted"
    assert fcm.counters()["by_topic"] == {"all": 1}
