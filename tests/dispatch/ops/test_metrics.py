"""/metrics: who may scrape it, and what it reads from Redis and the database."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import (
    Campaign,
    CampaignStatus,
    InboundMessage,
    Message,
    MessageStatus,
    RawReceipt,
)
from dispatch.models.common import utcnow
from dispatch.sms import inbound, receipts
from gateways.results import Inbound, Receipt
from tests.helpers.factories import add_account, make_user
from tests.helpers.ops import bind, publish

TOKEN = "scrape-token-0123456789"


@pytest.fixture()
def scrape(app: Any, client: Any) -> Any:
    app.config["METRICS_TOKEN"] = TOKEN

    def get() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        out = {}
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    yield get
    app.config["METRICS_TOKEN"] = None


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_who_may_scrape(backend: str, app: Any, api: Any, people: Any, redis: Any) -> None:
    app.config["METRICS_TOKEN"] = TOKEN
    try:
        assert api.get("/metrics").status_code == 401
        assert api.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for role in ("editor", "approver"):
            assert api.as_(people[role]).get("/metrics").status_code == 403
        assert api.as_(people["admin"]).get("/metrics").status_code == 200
        ok = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and b"loa_queue_jobs" in ok.data
        app.config["METRICS_TOKEN"] = None  # no token configured: a bearer of "" is no key
        assert api.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    finally:
        app.config["METRICS_TOKEN"] = None


def test_binds_throttle_and_window(backend: str, scrape: Any, redis: Any) -> None:
    account = add_account(name="viettel", tps=100, window=10)
    publish(redis, account,
            bind("b1", "bound", sent=120, accepted=100, throttled=15, errors=5, in_flight=7,
                 receipts=90),
            bind("b2", "disconnected", detail="connection reset"))
    now_s, now_us = redis.time()
    now = now_s * 1_000_000 + now_us
    redis.set(keys.smpp_throttle(account.id), str(now + 3_000_000))
    redis.hset(f"{keys.smpp_throttle(account.id)}:penalty",
               mapping={"f": 0.25, "at": str(now)})
    samples = scrape()
    proc = next(k for k in samples if k[0] == "loa_smpp_submits_total")[1]
    key = dict(proc)
    b1 = {"account": "viettel", "bind": "b1", "process": key["process"]}
    assert value(samples, "loa_smpp_bind_state", **b1, state="bound") == 1
    assert value(samples, "loa_smpp_bind_state", **b1, state="disconnected") == 0
    assert value(samples, "loa_smpp_bind_state", **(b1 | {"bind": "b2"}),
                 state="disconnected") == 1
    assert value(samples, "loa_smpp_submits_total", **b1) == 120
    assert value(samples, "loa_smpp_responses_total", **b1, status="accepted") == 100
    assert value(samples, "loa_smpp_responses_total", **b1, status="throttled") == 15
    assert value(samples, "loa_smpp_responses_total", **b1, status="error") == 5
    assert value(samples, "loa_smpp_window_in_flight", **b1) == 7
    assert value(samples, "loa_smpp_window_size", account="viettel") == 10
    assert value(samples, "loa_smpp_account_bound_binds", account="viettel") == 1
    assert value(samples, "loa_smpp_processes") == 1
    assert 2.5 < value(samples, "loa_smpp_throttle_wait_seconds", account="viettel") <= 3.0
    # A quarter of the allowance, climbing back by a fifth of it a second since.
    factor = value(samples, "loa_smpp_throttle_factor", account="viettel")
    assert 0.25 <= factor < 0.3
    assert value(samples, "loa_smpp_throttle_rate", account="viettel") == pytest.approx(
        98 * factor, rel=0.01)


def test_queue_depth_per_queue(backend: str, scrape: Any, redis: Any) -> None:
    Queue("default", connection=redis).enqueue("dispatch.jobs.ping", "a")
    Queue("default", connection=redis).enqueue("dispatch.jobs.ping", "b")
    Queue("urgent", connection=redis).enqueue("dispatch.jobs.ping", "c")
    samples = scrape()
    assert value(samples, "loa_queue_jobs", queue="default", state="queued") == 2
    assert value(samples, "loa_queue_jobs", queue="urgent", state="queued") == 1
    assert value(samples, "loa_queue_jobs", queue="default", state="failed") == 0


def test_sms_rows_waiting_per_account_come_from_the_ledger(backend: str, scrape: Any,
                                                          redis: Any) -> None:
    """SMS has no RQ queue: what waits for the smpp processes is counted in the ledger."""
    viettel, mobi = add_account(name="viettel").id, add_account(name="mobifone").id
    author = make_user("author", ["editor"])
    c = Campaign(title="t", channels="sms", sms_text="x", sms_sender="LOA",
                 status=CampaignStatus.SENDING, launched_at=utcnow(), created_by_id=author.id)
    db.session.add(c)
    db.session.flush()
    statuses = [MessageStatus.QUEUED] * 3 + [MessageStatus.SENDING]
    db.session.add_all(Message(campaign_id=c.id, channel="sms", recipient_id=i,
                               account_id=viettel, address=f"+849100000{i}", status=s)
                       for i, s in enumerate(statuses))
    db.session.commit()
    samples = scrape()
    assert value(samples, "loa_sms_queued", account="viettel") == 3
    assert value(samples, "loa_sms_queued", account="mobifone") == 0
    assert mobi != viettel


def test_receipts_are_counted_incrementally_by_stat(backend: str, scrape: Any,
                                                    redis: Any) -> None:
    account = add_account(name="viettel")

    def receipts(*stats: str) -> None:
        db.session.add_all(RawReceipt(account_id=account.id, smsc_id=f"id{i}-{s}", stat=s,
                                      body="id:x stat:" + s) for i, s in enumerate(stats))
        db.session.commit()

    receipts("DELIVRD")  # before the first scrape: history is not counted
    first = scrape()
    assert not [k for k in first if k[0] == "loa_receipts_total"]
    receipts("DELIVRD", "DELIVRD", "UNDELIV")
    samples = scrape()
    assert value(samples, "loa_receipts_total", account="viettel", stat="delivrd") == 2
    assert value(samples, "loa_receipts_total", account="viettel", stat="undeliv") == 1
    receipts("DELIVRD")
    samples = scrape()
    assert value(samples, "loa_receipts_total", account="viettel", stat="delivrd") == 3


def test_unreadable_receipts_and_mo_are_counted(backend: str, scrape: Any, redis: Any) -> None:
    account = add_account(name="viettel")
    first = scrape()  # the starting point: what is stored from here on is counted
    assert not [k for k in first if k[0] == "loa_inbound_unreadable_total"]
    now = utcnow()
    receipts.store_batch(account.id, [
        Receipt("A1", "DELIVRD", raw="id:A1 stat:DELIVRD\x00", payload=b"id:A1 stat:DELIVRD\x00"),
        Inbound("84912345678", "8088", "HUY"), Inbound("84912345679", "8088", "Xin\x00chao")])
    for event in (Receipt("", "UNKNOWN", payload=b"\xff"), Inbound("84912345670", "8088", "?"),
                  Inbound("84912345671", "8088", "?")):
        inbound.store_unreadable(account.id, event, now)
    db.session.commit()
    samples = scrape()
    assert value(samples, "loa_inbound_unreadable_total", account="viettel", kind="receipt") == 1
    assert value(samples, "loa_inbound_unreadable_total", account="viettel", kind="mo") == 2
    assert value(samples, "loa_receipts_total", account="viettel", stat="unreadable") == 1
    assert value(samples, "loa_receipts_total", account="viettel", stat="delivrd") == 1
    for handled_as, n in (("opt_out", 1), ("ignored", 1), ("unreadable", 2)):
        assert value(samples, "loa_inbound_messages_total", account="viettel",
                     handled_as=handled_as) == n


def test_campaign_progress_of_live_campaigns(backend: str, scrape: Any, redis: Any) -> None:
    author = make_user("author", ["editor"])
    c = Campaign(title="t", channels="sms", sms_text="x", sms_sender="LOA",
                 status=CampaignStatus.SENDING, launched_at=utcnow(), created_by_id=author.id)
    done = Campaign(title="d", channels="sms", sms_text="x", sms_sender="LOA",
                    status=CampaignStatus.COMPLETED, created_by_id=author.id)
    db.session.add_all([c, done])
    db.session.flush()
    statuses = [MessageStatus.DELIVERED] * 3 + [MessageStatus.QUEUED]
    db.session.add_all(Message(campaign_id=c.id, channel="sms", recipient_id=i,
                               address=f"+849100000{i}", status=s)
                       for i, s in enumerate(statuses))
    db.session.commit()
    samples = scrape()
    cid = str(c.id)
    assert value(samples, "loa_campaign_messages", campaign_id=cid, channel="sms",
                 status="delivered") == 3
    assert value(samples, "loa_campaign_percent_done", campaign_id=cid) == 75.0
    assert value(samples, "loa_campaigns", status="sending") == 1
    assert value(samples, "loa_campaigns", status="completed") == 1
    assert not [k for k in samples if dict(k[1]).get("campaign_id") == str(done.id)]
    assert redis.get(keys.progress(c.id))  # cached for the next scrape and the dashboard


def test_a_failing_part_is_reported_and_the_rest_still_shown(backend: str, scrape: Any,
                                                             redis: Any,
                                                             monkeypatch: Any) -> None:
    from dispatch.ops import metrics

    def broken(self: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(metrics.LoaCollector, "throttle", broken)
    samples = scrape()
    assert value(samples, "loa_metrics_part_failed", part="throttle") == 1
    assert value(samples, "loa_metrics_part_failed", part="queues") == 0
    assert ("loa_rq_workers", ()) in samples


def test_mo_whose_reply_is_not_made_yet_are_counted_per_account(backend: str, scrape: Any,
                                                                redis: Any) -> None:
    """What the smpp process stored and answered but has not attributed yet: a lag to watch."""
    viettel, mobi = add_account(name="viettel").id, add_account(name="mobifone").id
    db.session.add_all(InboundMessage(account_id=viettel, source="84912345678",
                                      destination="8088", text=str(i), reply_pending=i < 2)
                       for i in range(3))
    db.session.commit()
    samples = scrape()
    assert value(samples, "loa_mo_reply_pending", account="viettel") == 2
    assert value(samples, "loa_mo_reply_pending", account="mobifone") == 0
    assert mobi != viettel
