"""The account's runner outlives a Redis outage: rows committed while Redis is away are found in
the ledger and sent (no wake-up can reach the runner then; it looks every second by itself),
and the wake-ups work again once Redis is back.

(The RQ worker thread this replaces once died when Redis went away and the campaign hung:
found by the Redis restart drill, scripts/drills/redis_restart.py.)
"""

from __future__ import annotations

import time

import redis as redis_lib

from dispatch.sms.process import SmppProcess
from scripts.drills.stack import Redis
from scripts.harness import wait_for
from tests.helpers.factories import add_account
from tests.helpers.sms import FAST_TIMERS, counts, make_campaign, queue_rows


def test_rows_committed_while_redis_is_away_are_sent(app, smsc, editor, backend, tmp_path,
                                                     monkeypatch):
    server = Redis(tmp_path / "redis").start()  # one this test may kill
    client = redis_lib.Redis.from_url(server.url)
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    monkeypatch.setitem(app.extensions, "loa_redis", client)
    account = add_account(smsc)
    c = make_campaign(editor)
    process = SmppProcess(app, poll_interval=0.3, status_interval=0.2, throttle=False,
                          timers=FAST_TIMERS, drain_timeout=1.0).start()
    try:
        runner = process.runners[account.id]
        assert wait_for(lambda: runner.link.problem() is None, timeout=20)
        server.kill()
        queue_rows(c, account, 20)  # expansion's wake-up would be lost now
        assert wait_for(lambda: counts(c.id)["delivered"] == 20, timeout=20), counts(c.id)
        server.start()
        time.sleep(1.5)  # the listener subscribes again
        queue_rows(c, account, 20, start=100)
        assert wait_for(lambda: counts(c.id)["delivered"] == 40, timeout=20), counts(c.id)
        assert runner.alive
    finally:
        process.stop()
        client.close()
        server.kill()
