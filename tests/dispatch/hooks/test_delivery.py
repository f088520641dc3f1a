"""Webhook delivery against a real receiver on loopback: signatures, batches, retries with
back-off (time moved, not slept), disabling after a day, re-enabling, the outbox across a
rollback and a Redis outage."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.hooks import deliver, events, registry
from dispatch.models import HookAttempt, HookDelivery, HookEvent, Webhook
from gateways import webhook
from tests.helpers.hooks import run_jobs


@pytest.fixture(autouse=True)
def _fresh_cache(app: Any) -> None:
    events.forget()
    app.config["HOOK_READ_TIMEOUT"] = 0.5
    app.config["HOOK_CONNECT_TIMEOUT"] = 0.5


def make_hook(url: str, wanted: tuple[str, ...] = (events.MESSAGE_DELIVERED,)) -> tuple[int, str]:
    hook, secret = registry.create({"name": "Ứng dụng tỉnh", "url": url,
                                    "events": list(wanted)}, actor=None)
    db.session.commit()
    return hook.id, secret


def delivered(n: int) -> list[dict[str, Any]]:
    return [{"message_id": i, "campaign_id": 7, "channel": "sms", "status": "delivered",
             "number": "+8491****" + f"{i:03d}"} for i in range(n)]


def test_a_batch_is_signed_with_the_hooks_secret_and_carries_exactly_its_events(
        app, redis, receiver, hook_clock):
    _, secret = make_hook(receiver.url)
    events.emit_many(events.MESSAGE_DELIVERED, delivered(150))
    events.emit(events.CAMPAIGN_COMPLETED, {"campaign_id": 7})  # nobody wants it: not written
    db.session.commit()
    run_jobs()  # the fan-out, then one job per delivery
    assert len(receiver.received) == 2  # 150 events: two POSTs of at most 100
    sent = sorted(receiver.received, key=lambda r: len(r.json["events"]), reverse=True)
    assert [len(r.json["events"]) for r in sent] == [100, 50]
    assert [e["data"] for e in sent[0].json["events"]] == delivered(150)[:100]
    assert [e["data"] for e in sent[1].json["events"]] == delivered(150)[100:]
    assert {e["event"] for e in receiver.events()} == {"message.delivered"}
    assert len({e["id"] for e in receiver.events()}) == 150
    for r in receiver.received:
        h = {k.lower(): v for k, v in r.headers.items()}
        stamp = int(h["x-loa-timestamp"])
        assert abs(stamp - hook_clock.now.timestamp()) < 2
        assert h["x-loa-event"] == "message.delivered"
        assert h["x-loa-delivery"] == r.json["delivery"]
        assert webhook.verify(secret, stamp, r.body, h["x-loa-signature"])
        assert not webhook.verify("another secret", stamp, r.body, h["x-loa-signature"])
        assert not webhook.verify(secret, stamp + 1, r.body, h["x-loa-signature"])  # replayed
        assert r.path == "/loa/events"
    assert db.session.scalar(select(func.count()).select_from(HookEvent)) == 0  # outbox empty
    statuses = db.session.scalars(select(HookDelivery.status)).all()
    assert statuses == ["delivered", "delivered"]
    run_jobs()
    assert len(receiver.received) == 2  # nothing is sent twice


def test_a_500_and_a_timeout_are_retried_on_the_back_off_schedule(app, redis, receiver,
                                                                  hook_clock):
    make_hook(receiver.url)
    receiver.answers = [500, ("sleep", 1.5), 200]
    start = hook_clock.now
    events.emit(events.MESSAGE_DELIVERED, delivered(1)[0])
    db.session.commit()
    run_jobs()
    assert len(receiver.received) == 1
    hook_clock.advance(seconds=59)
    assert "hook_deliveries" not in deliver.sweep(hook_clock.now)  # not due yet
    hook_clock.advance(seconds=1)
    assert deliver.sweep(hook_clock.now) == {"hook_deliveries": 1}
    run_jobs()
    assert len(receiver.received) == 2  # timed out after 0.5 s
    hook_clock.advance(seconds=299)
    assert deliver.sweep(hook_clock.now) == {}
    hook_clock.advance(seconds=1)
    assert deliver.sweep(hook_clock.now) == {"hook_deliveries": 1}
    run_jobs()
    assert len(receiver.received) == 3
    assert len({r.json["delivery"] for r in receiver.received}) == 1  # the same delivery
    assert len({r.body for r in receiver.received}) == 1  # the same bytes
    log = db.session.scalars(select(HookAttempt).order_by(HookAttempt.id)).all()
    assert [(a.status_code, a.error) for a in log] == [
        (500, "http_500"), (None, "timeout"), (200, None)]
    assert [a.next_attempt_at for a in log] == [
        start + timedelta(minutes=1), start + timedelta(minutes=6), None]
    assert 400 <= log[1].duration_ms < 1500
    assert db.session.scalar(select(HookDelivery.status)) == "delivered"


def test_a_hook_failing_for_a_day_is_disabled_with_the_reason_and_an_admin_enables_it(
        app, redis, receiver, hook_clock, api, people):
    hook_id, _ = make_hook(receiver.url)
    receiver.default = 503
    start = hook_clock.now
    events.emit(events.MESSAGE_DELIVERED, delivered(1)[0])
    db.session.commit()
    run_jobs()
    for _ in range(20):
        db.session.expire_all()
        hook = db.session.get(Webhook, hook_id)
        if not hook.enabled:
            break
        due = db.session.scalar(select(HookDelivery.next_attempt_at))
        hook_clock.now = due
        deliver.sweep(hook_clock.now)
        run_jobs()
    hook = db.session.get(Webhook, hook_id)
    assert not hook.enabled
    attempts = db.session.scalars(select(HookAttempt.at).order_by(HookAttempt.id)).all()
    # 0, 1 min, 6 min, 36 min, 2 h 36, 8 h 36, 14 h 36, 20 h 36, 26 h 36: the first past a day
    assert [a - start for a in attempts][-1] == timedelta(hours=26, minutes=36)
    assert attempts[-2] - start < timedelta(days=1) <= attempts[-1] - start
    assert hook.disabled_at == attempts[-1]
    code, values = registry.reason_of(hook)
    assert code == "failing" and values["last"] == "http_503"
    # Disabled: no new events are written for it, nothing is posted.
    assert events.emit_many(events.MESSAGE_DELIVERED, delivered(3)) == 0
    hook_clock.advance(hours=12)
    assert deliver.sweep(hook_clock.now) == {}
    seen = len(receiver.received)
    admin = api.as_(people["admin"])
    page = admin.get(f"/api/hooks/{hook_id}").json
    assert page["enabled"] is False and page["disabled_reason"].startswith("failing?")
    receiver.default = 200
    r = admin.post(f"/api/hooks/{hook_id}/enable")
    assert r.status_code == 200 and r.json["enabled"] is True, r.json
    assert r.json["disabled_reason"] is None
    run_jobs()
    assert len(receiver.received) == seen + 1
    assert db.session.scalar(select(HookDelivery.status)) == "delivered"
    log = admin.get(f"/api/hooks/{hook_id}/attempts").json
    assert len(log) == len(attempts) + 1
    assert log[0]["status_code"] == 200 and log[1]["error"] == "http_503"


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_sent(app, redis, receiver,
                                                                     hook_clock):
    make_hook(receiver.url)
    events.emit(events.MESSAGE_DELIVERED, delivered(1)[0])
    db.session.rollback()
    run_jobs()
    hook_clock.advance(minutes=5)
    assert deliver.sweep(hook_clock.now) == {}
    run_jobs()
    assert receiver.received == []
    assert db.session.scalar(select(func.count()).select_from(HookEvent)) == 0


def test_events_emitted_while_redis_is_down_are_delivered_once_it_is_back(
        app, redis, receiver, hook_clock):
    make_hook(receiver.url)
    url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    app.extensions.pop("loa_redis", None)
    try:
        events.emit_many(events.MESSAGE_DELIVERED, delivered(3))
        db.session.commit()  # the enqueue fails quietly; the rows are in the outbox
    finally:
        app.config["REDIS_URL"] = url
        app.extensions.pop("loa_redis", None)
    assert db.session.scalar(select(func.count()).select_from(HookEvent)) == 3
    run_jobs()
    assert receiver.received == []
    hook_clock.advance(seconds=11)
    assert deliver.sweep(hook_clock.now) == {"hook_fan_out": 1}
    run_jobs()
    assert [e["data"]["message_id"] for e in receiver.events()] == [0, 1, 2]


def test_no_subscriber_means_no_row_and_no_extra_statement(app, redis):
    from sqlalchemy import event

    from dispatch.engine import ledger
    from dispatch.models import MessageStatus
    from tests.helpers.factories import make_user
    from tests.helpers.sms import make_campaign

    c = make_campaign(make_user("e1", ["editor"]))
    from dispatch.models import Message

    m = Message(campaign_id=c.id, channel="sms", recipient_id=1, address="+84912345678",
                status=MessageStatus.SUBMITTED)
    db.session.add(m)
    db.session.commit()
    message_id = m.id
    events.wanted(events.MESSAGE_DELIVERED)  # the cache, as a running process has it
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert ledger.move([message_id], MessageStatus.DELIVERED) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.commit()
    assert len(statements) == 1 and "RETURNING" not in statements[0].upper()
    assert db.session.scalar(select(func.count()).select_from(HookEvent)) == 0


def test_a_test_event_goes_to_that_hook_only(app, redis, receiver, hook_clock, api, people):
    hook_id, secret = make_hook(receiver.url, (events.CAMPAIGN_COMPLETED,))
    other_id, _ = make_hook(receiver.url.replace("/loa/events", "/other"))
    r = api.as_(people["admin"]).post(f"/api/hooks/{hook_id}/test")
    assert r.status_code == 202, r.json
    run_jobs()
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.path == "/loa/events" and got.json["delivery"] == r.json["delivery"]
    assert got.json["events"][0]["event"] == "hook.test"
    h = {k.lower(): v for k, v in got.headers.items()}
    assert webhook.verify(secret, int(h["x-loa-timestamp"]), got.body, h["x-loa-signature"])
    assert json.loads(got.body)["events"][0]["data"]["hook_id"] == hook_id
    assert other_id != hook_id


def test_reply_and_survey_events_arrive_as_emitted(app, redis, receiver, hook_clock):
    make_hook(receiver.url, (events.REPLY_RECEIVED, events.SURVEY_ANSWERED))
    reply = {"reply_id": 41, "campaign_id": 7, "channel": "sms", "kind": "answer",
             "choice": "1", "number": events.mask("+84912345678"),
             "received_at": hook_clock.now.isoformat()}
    events.emit(events.REPLY_RECEIVED, reply)
    events.emit(events.SURVEY_ANSWERED, reply)
    db.session.commit()
    run_jobs()
    assert sorted(r.json["event"] for r in receiver.received) == [
        "reply.received", "survey.answered"]
    for r in receiver.received:
        assert r.headers["X-Loa-Event"] == r.json["event"]
        assert [e["data"] for e in r.json["events"]] == [reply]
    assert reply["number"] == "+8491****678"


def test_a_refused_push_is_a_message_failed_event_without_a_number(app, redis, receiver,
                                                                    hook_clock):
    from dispatch.engine import ledger
    from dispatch.models import Message, MessageStatus
    from tests.helpers.factories import make_user
    from tests.helpers.sms import make_campaign

    make_hook(receiver.url, (events.MESSAGE_FAILED,))
    c = make_campaign(make_user("e1", ["editor"]), channels="push")
    m = Message(campaign_id=c.id, channel="push", recipient_id=3, status=MessageStatus.SENDING)
    db.session.add(m)
    db.session.commit()
    assert ledger.move([m.id], MessageStatus.FAILED, only_from=[MessageStatus.SENDING],
                       reason="INVALID_ARGUMENT") == 1
    db.session.commit()
    run_jobs()
    [event] = receiver.events()
    assert event["event"] == "message.failed"
    assert {k: event["data"][k] for k in ("message_id", "campaign_id", "channel", "status",
                                          "number", "reason")} == {
        "message_id": m.id, "campaign_id": c.id, "channel": "push", "status": "failed",
        "number": None, "reason": "INVALID_ARGUMENT"}


def test_a_receiver_that_is_down_gets_one_call_per_back_off_step_not_one_per_delivery(
        app, redis, receiver, hook_clock):
    make_hook(receiver.url, events.EVENTS)
    receiver.default = 503
    for kind in events.EVENTS:  # five kinds: five deliveries
        events.emit(kind, {"n": 1})
    db.session.commit()
    run_jobs()
    assert len(receiver.received) == 1
    hook_clock.advance(minutes=1)
    assert deliver.sweep(hook_clock.now) == {"hook_deliveries": 1}  # one probe
    run_jobs()
    assert len(receiver.received) == 2
    hook_clock.advance(minutes=4)
    assert deliver.sweep(hook_clock.now) == {}  # the hook's back-off: 5 min after the 2nd
    receiver.default = 200
    hook_clock.advance(minutes=1)
    assert deliver.sweep(hook_clock.now) == {"hook_deliveries": 1}
    run_jobs()
    assert len(receiver.received) == 3  # the probe succeeded: the hook is healthy again
    assert deliver.sweep(hook_clock.now) == {"hook_deliveries": 4}  # the clock's next tick
    run_jobs()
    assert len(receiver.received) == 7
    assert set(db.session.scalars(select(HookDelivery.status))) == {"delivered"}
    assert sorted(r.json["event"] for r in receiver.received[2:]) == sorted(events.EVENTS)


def test_finished_deliveries_are_purged_after_a_month(app, redis, receiver, hook_clock):
    make_hook(receiver.url)
    events.emit(events.MESSAGE_DELIVERED, delivered(1)[0])
    db.session.commit()
    run_jobs()
    assert db.session.scalar(select(func.count()).select_from(HookAttempt)) == 1
    assert "hook_purged" not in deliver.sweep(hook_clock.now + timedelta(days=29))
    assert deliver.sweep(hook_clock.now + timedelta(days=31)) == {"hook_purged": 1}
    assert db.session.scalar(select(func.count()).select_from(HookDelivery)) == 0
    assert db.session.scalar(select(func.count()).select_from(HookAttempt)) == 0
