"""Per-device push batches: claim, send through firebase_admin to the stand-in, record results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from dispatch.engine import enqueue, flags
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import AuditEvent, Campaign, CampaignStatus, Device, Message, MessagePart
from dispatch.push import send as push
from dispatch.push.state import MAX_ATTEMPTS, quota_wait
from gateways.fcm import SENDERS
from scripts.fcm import FcmStandIn
from tests.helpers.push import (
    forget_push_gateway,
    make_campaign,
    make_device,
    queue_rows,
    statuses,
    work,
)


def scheduled(c: Campaign) -> list[tuple[list[int], float]]:
    """The push jobs waiting in RQ's scheduled registry: (ids, seconds from now)."""
    registry = enqueue.work_queue(c).scheduled_job_registry
    now = datetime.now(UTC)
    out = []
    for job_id in registry.get_job_ids():
        job = registry.get_queue().fetch_job(job_id)
        assert job is not None
        when = registry.get_scheduled_time(job_id)
        out.append((list(job.args[1]), (when - now).total_seconds()))
    return out


@pytest.fixture(params=SENDERS)
def sender(request: pytest.FixtureRequest, app: Flask, fcm: FcmStandIn) -> Iterator[str]:
    """The worker's gateway built with each way of sending (FCM_SENDER)."""
    saved = app.config.get("FCM_SENDER")
    app.config["FCM_SENDER"] = request.param
    forget_push_gateway()
    yield str(request.param)
    app.config["FCM_SENDER"] = saved
    forget_push_gateway()


def test_mixed_batch_gives_each_row_its_fate(backend, fcm, sender):
    c = make_campaign()
    tokens = ["good-1", "unregistered-a", "mismatch-b", "quota-30-c", "unavailable-d",
              "invalid-e", "good-2"]
    devices = [make_device(t) for t in tokens]
    devices.append(make_device("good-disabled", disabled="app_unregistered"))
    devices.append(make_device(None))
    ids = queue_rows(c, devices)
    enqueue.enqueue_push(c, ids)

    started = time.monotonic()
    work()
    assert time.monotonic() - started < 5  # nothing slept on Retry-After

    by_token = dict(zip([*tokens, "disabled", "none"], ids, strict=True))
    got = statuses(ids)
    assert {t: got[i] for t, i in by_token.items()} == {
        "good-1": ("submitted", None),
        "good-2": ("submitted", None),
        "unregistered-a": ("failed", "unregistered"),
        "mismatch-b": ("failed", "sender_id_mismatch"),
        "quota-30-c": ("queued", None),
        "unavailable-d": ("queued", None),
        "invalid-e": ("failed", "invalid_argument"),
        "disabled": ("failed", "device_disabled"),
        "none": ("failed", "no_token"),
    }
    # FCM's message id is kept for each accepted push; FCM got one request per sendable device.
    parts = dict(db.session.execute(select(MessagePart.message_id, MessagePart.smsc_id)).all())
    assert set(parts) == {by_token["good-1"], by_token["good-2"]}
    assert all(p and "/" not in p for p in parts.values())
    assert fcm.counters()["by_token"] == dict.fromkeys(tokens, 1)
    # Dead tokens disable their devices for good, with the reason.
    reasons = dict(db.session.execute(select(Device.fcm_token, Device.disabled_reason)).all())
    assert reasons["unregistered-a"] == "fcm_unregistered"
    assert reasons["mismatch-b"] == "fcm_sender_id_mismatch"
    assert reasons["good-1"] is None
    # Quota: rescheduled after Retry-After (30 s), held in RQ's scheduled registry, and the
    # project is marked throttled; unavailable: backoff of the first attempt.
    waiting = {tuple(ids_): delay for ids_, delay in scheduled(c)}  # RQ keeps whole seconds
    assert 26 < waiting[(by_token["quota-30-c"],)] <= 30
    assert 11 < waiting[(by_token["unavailable-d"],)] <= 15
    assert 25 < quota_wait() <= 30


def test_quota_holds_back_the_other_batches_without_sending(backend, fcm):
    c = make_campaign()
    first = queue_rows(c, [make_device("quota-20-x")])
    enqueue.enqueue_push(c, first)
    work()
    second = queue_rows(c, [make_device("good-later")])
    enqueue.enqueue_push(c, second)
    work()
    assert fcm.counters()["requests"] == 1  # the second batch sent nothing
    assert statuses(second) == {second[0]: ("queued", None)}
    assert any(ids == second and 15 < delay <= 20 for ids, delay in scheduled(c))
    # Once the pause is over it goes.
    get_redis().delete(keys.PUSH_QUOTA_UNTIL)
    push.send_batch(c.id, second)
    assert statuses(second) == {second[0]: ("submitted", None)}


def test_retries_end_in_failed_after_max_attempts(backend, fcm, sender):
    c = make_campaign()
    ids = queue_rows(c, [make_device("unavailable-x")])
    db.session.execute(db.update(Message).where(Message.id.in_(ids))
                       .values(attempts=MAX_ATTEMPTS - 1))
    db.session.commit()
    push.send_batch(c.id, ids)
    assert statuses(ids) == {ids[0]: ("failed", "unavailable")}
    assert scheduled(c) == []


def test_a_batch_run_twice_sends_nothing_twice(backend, fcm):
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(20)])
    enqueue.enqueue_push(c, ids)
    enqueue.enqueue_push(c, ids)
    work()
    assert fcm.counters()["sent"] == 20
    assert set(fcm.counters()["by_token"].values()) == {1}
    assert push.send_batch(c.id, ids) == {"claimed": 0}
    assert fcm.counters()["requests"] == 20


def test_auth_refused_blocks_the_push_side_without_a_storm(backend, fcm):
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(600)])
    fcm.refuse_auth = True
    enqueue.enqueue_push(c, ids)  # two jobs: 500 + 100
    work()
    db.session.refresh(c)
    assert c.push_blocked and "service account" in c.push_blocked
    assert {s for s, _ in statuses(ids).values()} == {"queued"}
    counters = fcm.counters()
    assert counters["tokens_refused"] == 1 and counters["requests"] == 0  # the 2nd job stopped
    assert scheduled(c) == []
    events = db.session.scalars(select(AuditEvent.action)
                                .where(AuditEvent.entity == "campaign",
                                       AuditEvent.entity_id == str(c.id))).all()
    assert events == ["campaign.push_blocked"]

    fcm.refuse_auth = False  # the operator fixed the key
    assert push.unblock(c) == 2
    work()
    assert {s for s, _ in statuses(ids).values()} == {"submitted"}
    assert fcm.counters()["sent"] == 600


def test_send_permission_denied_also_blocks(backend, fcm):
    c = make_campaign()
    ids = queue_rows(c, [make_device("good-1"), make_device("good-2")])
    fcm.deny_send = True
    push.send_batch(c.id, ids)
    db.session.refresh(c)
    assert c.push_blocked and "PERMISSION_DENIED" in c.push_blocked
    assert {s for s, _ in statuses(ids).values()} == {"queued"}


def test_no_credentials_block_with_what_to_set(backend, fcm, app):
    app.config["FCM_CREDENTIALS"] = None
    c = make_campaign()
    ids = queue_rows(c, [make_device("good-1")])
    push.send_batch(c.id, ids)
    db.session.refresh(c)
    assert c.push_blocked and "LOA_FCM_CREDENTIALS" in c.push_blocked
    assert statuses(ids) == {ids[0]: ("queued", None)}


def test_paused_stopping_and_expired_campaigns_send_nothing(backend, fcm):
    paused = make_campaign(status=CampaignStatus.PAUSED)
    p_ids = queue_rows(paused, [make_device("good-p")])
    stopping = make_campaign()
    s_ids = queue_rows(stopping, [make_device("good-s")])
    flags.set_stop(stopping.id, "pause")
    old = make_campaign(launched_at=datetime.now(UTC) - timedelta(hours=2), validity_hours=1)
    o_ids = queue_rows(old, [make_device("good-o")])
    for c, ids in ((paused, p_ids), (stopping, s_ids), (old, o_ids)):
        assert push.send_batch(c.id, ids) == {"claimed": 0}
    assert fcm.counters()["requests"] == 0
    assert statuses(p_ids + s_ids) == {p_ids[0]: ("queued", None), s_ids[0]: ("queued", None)}
    assert statuses(o_ids) == {o_ids[0]: ("expired", "validity_ended")}


def test_the_notification_carries_the_campaign(backend, fcm):
    c = make_campaign(priority="urgent", push_image="https://haugiang.gov.vn/a.png",
                      push_data={"kind": "alert"})
    ids = queue_rows(c, [make_device("good-1")])
    push.send_batch(c.id, ids)
    [message] = fcm.messages()
    assert message["notification"]["title"] == "Thông báo khẩn"
    assert message["data"] == {"kind": "alert", "link": "haugiang://tin/1"}
    assert message["android"]["priority"] == "high"
    assert message["android"]["collapse_key"] == f"loa-campaign-{c.id}"
    ttl = float(message["android"]["ttl"].rstrip("s"))
    assert 23 * 3600 < ttl <= 24 * 3600  # what is left of the validity
