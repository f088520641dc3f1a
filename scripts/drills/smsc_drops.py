"""The SMSC cuts every connection every 10 s while a campaign sends and its receipts come back.

    .venv/bin/python -m scripts.drills.smsc_drops [--every 10] [--contacts 50000]

The drill asks the stand-in to drop (its control port, `POST /drop`) from the launch until the
campaign completes, and counts each drop that found a bind. What a drop can leave `unknown`:
the submits in the window of every sending bind (sent, no submit_sm_resp yet: never resent).
The session gives those up the moment the link dies, so each `unknown` row is put down to the
last drop before it became `unknown`, and no drop may have more than the window. Receipts the
SMSC had not delivered, or whose deliver_sm_resp it did not get, come again on the next bind.
"""

from __future__ import annotations

import argparse
import bisect
import sys
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run, retry_db
from scripts.harness import http_json


class SmscDrops(Drill):
    name = "smsc_drops"
    doc = __doc__

    def __init__(self) -> None:
        self.drops: list[datetime] = []  # when each drop that found a bind was asked for
        self.per_drop: list[int] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=10.0, help="seconds between drops")

    def inject(self, run: Run) -> None:
        from dispatch.models.common import utcnow

        url = f"http://127.0.0.1:{run.stack.smsc_control}/drop"
        window = run.seeded.window * run.seeded.binds
        while not run.done.wait(run.args.every):
            at = utcnow()
            dropped = int(http_json(url, {})["dropped"])
            if dropped:
                self.drops.append(at)
                run.fault(f"SMSC dropped {dropped} connection(s)", window)

    def _unknown_at(self, run: Run) -> list[datetime]:
        from dispatch.extensions import db
        from dispatch.models import Message, MessageStatus

        assert run.stack.app is not None
        with run.stack.app.app_context():
            times = [t for t in db.session.scalars(sa.select(Message.finished_at).where(
                Message.campaign_id == run.cid, Message.status == MessageStatus.UNKNOWN))
                if t is not None]
            db.session.remove()
        return sorted(times)

    def check(self, run: Run, figures: Figures) -> list[str]:
        window = run.seeded.window * run.seeded.binds
        self.per_drop = [0] * len(self.drops)
        before_any = 0
        for at in retry_db(lambda: self._unknown_at(run)):
            index = bisect.bisect_right(self.drops, at) - 1
            if index < 0:
                before_any += 1
            else:
                self.per_drop[index] += 1
        failures = [f"drop {i}: {n} unknown, more than the window of {window}"
                    for i, n in enumerate(self.per_drop, 1) if n > window]
        if before_any:
            failures.append(f"{before_any} rows unknown before the first drop")
        return failures

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        return {"binds": figures.smsc.get("binds", 0),
                "receipts_redelivered": max(0, figures.smsc.get("receipts_sent", 0)
                                            - figures.smsc.get("receipts_acked", 0)),
                "max_unknown_per_drop": max(self.per_drop, default=0)}


if __name__ == "__main__":
    sys.exit(SmscDrops().main())
