"""Jobs of workers that died: the clock gives their work back, once.

(The SMS send jobs whose rows a killed smpp process left `queued` with no live job, found by the
kill -9 drill, are gone: the smpp process claims SMS rows from the ledger, so there is nothing to
give back; `sending` rows of a killed process still become `unknown` after CLAIM_TIMEOUT.)
"""

from __future__ import annotations

from rq import Queue

from dispatch.engine import clock
from dispatch.jobs.redis_conn import get_redis
from tests.helpers.engine import launched
from tests.helpers.factories import add_account, add_contacts


def test_an_expansion_waiting_for_a_worker_is_not_enqueued_again_every_tick(
        engine_app, people, monkeypatch, backend):
    """Launch enqueues the expand job; until a worker takes it (workers busy, restarting or
    all killed) the clock must not add another each tick: several expanders of one campaign
    would run at once when workers come back. One more per lapsed heartbeat is what a killed
    expansion needs."""
    import time

    monkeypatch.setitem(engine_app.config, "EXPAND_HEARTBEAT_SECONDS", 1)
    add_account(is_default=True)
    lst = add_contacts("A", [f"+8496{i:07d}" for i in range(4)])
    launched(people, audience={"lists": [lst.id]})
    queue = Queue("default", connection=get_redis())
    assert queue.count == 1
    for _ in range(3):
        assert "expand_restarted" not in clock.tick(engine_app.config)
    assert queue.count == 1
    time.sleep(1.2)  # no worker took it within a heartbeat: enqueue it once more
    assert clock.tick(engine_app.config).get("expand_restarted") == 1
    assert "expand_restarted" not in clock.tick(engine_app.config)
    assert queue.count == 2
