"""`flask smpp run` as a process of its own: SIGTERM puts unsent rows back, drains, exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from dispatch.sms import status
from scripts.harness import wait_for
from tests.helpers.factories import add_account
from tests.helpers.sms import counts, make_campaign, per_destination, queue_rows

ROOT = Path(__file__).resolve().parents[3]


def test_sigterm_stops_taking_rows_drains_unbinds_and_exits_0(app, redis, smsc, editor,
                                                              backend):
    account = add_account(smsc, tps=60, window=5)
    c = make_campaign(editor)
    queue_rows(c, account, 150)
    env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "LOA_INSTANCE_PATH": app.instance_path}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "smpp", "run", "--poll", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # A Flask process starts in seconds; on a loaded machine, in tens of them.
        assert wait_for(lambda: any(r["state"] == "bound" for r in status.read(redis)),
                        timeout=60), proc.stdout.read1().decode() if proc.poll() else ""
        assert wait_for(lambda: len(smsc.received()) >= 20, timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read().decode()
    assert "stopped" in output, output
    by_status = counts(c.id)
    assert "sending" not in by_status and by_status["queued"] > 0, by_status
    sent = per_destination(smsc)
    assert set(sent.values()) == {1} and len(sent) == 150 - by_status["queued"]
    assert smsc.stats()["unbinds"] >= 1
    # The rows it did not send are `queued` in the ledger: the next smpp process claims them,
    # nothing is enqueued anywhere for them.
    assert status.read(redis) == []
    assert redis.keys("rq:queue:sms*") == []
