"""A push batch claimed just before Redis goes away is still sent, not left `sending`.

Found by the Redis restart drill (scripts/drills/redis_restart.py): the stop-flag check between
the claim and the send raised when Redis was away, the job failed with its 500 rows claimed, and
the clock turned them `unknown` 15 s later although none had been sent. Like the SMS sender, the
campaign's status in the database decides when the flag cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis as redis_lib
from sqlalchemy import update

from dispatch.engine import flags
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus
from dispatch.push import send as push
from scripts.harness import Redis
from tests.helpers.push import make_campaign, make_device, queue_rows, statuses


def after_the_claim(then: Callable[[], None], monkeypatch) -> None:
    """flags.may_send as it is, but `then()` runs just before its second call: the first is
    the check before the claim, the second the one between the claim and the send."""
    real, calls = flags.may_send, []

    def may_send(campaign_id: int) -> bool:
        calls.append(campaign_id)
        if len(calls) == 2:
            then()
        return real(campaign_id)

    monkeypatch.setattr(flags, "may_send", may_send)


@pytest.fixture()
def server(app, tmp_path, monkeypatch) -> Iterator[Redis]:
    """A Redis of the app's own that a test may kill."""
    server = Redis(tmp_path / "redis").start()
    client = redis_lib.Redis.from_url(server.url)
    monkeypatch.setitem(app.extensions, "loa_redis", client)
    yield server
    client.close()
    server.kill()


def test_a_batch_claimed_as_redis_goes_away_is_sent(fcm, backend, server, monkeypatch):
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(5)])
    after_the_claim(server.kill, monkeypatch)
    push.send_batch(c.id, ids)
    assert statuses(ids) == {i: ("submitted", None) for i in ids}
    assert sum(fcm.counters()["by_token"].values()) == 5


def test_paused_meanwhile_and_redis_away_nothing_is_sent(fcm, backend, server, monkeypatch):
    c = make_campaign()
    ids = queue_rows(c, [make_device(f"good-{i}") for i in range(3)])

    def staff_pause_and_redis_dies() -> None:
        with db.engine.begin() as conn:  # another process: the pause is in the database
            conn.execute(update(Campaign).where(Campaign.id == c.id)
                         .values(status=CampaignStatus.PAUSED))
        server.kill()  # … and its stop flag went with Redis

    after_the_claim(staff_pause_and_redis_dies, monkeypatch)
    push.send_batch(c.id, ids)
    assert statuses(ids) == {i: ("queued", None) for i in ids}
    assert sum(fcm.counters()["by_token"].values()) == 0
