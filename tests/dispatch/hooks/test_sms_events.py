"""message.delivered from a real SMS campaign: submitted over SMPP to the SMSC stand-in, its
receipts written by the smpp process (threads), each delivery told to the hook once, and the
campaign's completion after it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dispatch.engine import clock
from dispatch.hooks import events
from dispatch.models.common import utcnow
from scripts.harness import wait_for
from tests.dispatch.hooks.test_delivery import make_hook
from tests.helpers.factories import add_account, make_user
from tests.helpers.hooks import run_jobs
from tests.helpers.sms import counts, make_campaign, number, queue_rows


def test_each_delivered_sms_is_told_once_then_the_campaign_completes(
        app: Any, redis: Any, receiver: Any, smsc: Any, smpp: Any, backend: str) -> None:
    events.forget()
    make_hook(receiver.url, (events.MESSAGE_DELIVERED, events.CAMPAIGN_COMPLETED))
    account = add_account(smsc, is_default=True)
    c = make_campaign(make_user("editor1", ["editor"]), expanded_at=utcnow())
    ids = queue_rows(c, account, 120)
    smpp()
    assert wait_for(lambda: counts(c.id).get("delivered") == 120, timeout=30), counts(c.id)
    assert clock.tick(app.config).get("completed") == 1
    run_jobs()  # what the receipt writer's commits enqueued, and the completion's
    wait_for(lambda: len(receiver.events()) >= 121, timeout=10)
    got = receiver.events()
    delivered = [e["data"] for e in got if e["event"] == "message.delivered"]
    assert Counter(d["message_id"] for d in delivered) == Counter({i: 1 for i in ids})
    by_id = {d["message_id"]: d for d in delivered}
    first = by_id[ids[0]]
    assert first["campaign_id"] == c.id and first["channel"] == "sms"
    assert first["status"] == "delivered" and first["number"] == "+8491****000"
    assert first["number"] != number(0)
    # Batched: far fewer POSTs than events, none above 100 events.
    posts = [len(r.json["events"]) for r in receiver.received]
    assert len(posts) < 60 and max(posts) <= 100
    completed = [e["data"] for e in got if e["event"] == "campaign.completed"]
    assert len(completed) == 1 and completed[0]["campaign_id"] == c.id
    assert completed[0]["counts"] == {"delivered": 120}
