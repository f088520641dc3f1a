"""The SMSC cuts every connection every 10 s while a campaign sends and its receipts come back.

    .venv/bin/python -m scripts.drills.smsc_drops [--every 10] [--contacts 50000]

The drill asks the stand-in to drop (its control port, `POST /drop`) from the launch until the
campaign completes, and counts each drop that found a bind. What a drop can leave `unknown`:
the submits in the window of every sending bind (sent, no submit_sm_resp yet: never resent).
Receipts the SMSC had not delivered, or whose deliver_sm_resp it did not get, come again on the
next bind.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run
from scripts.drills.stack import http_json


class SmscDrops(Drill):
    name = "smsc_drops"
    doc = __doc__

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--every", type=float, default=10.0, help="seconds between drops")

    def inject(self, run: Run) -> None:
        url = f"http://127.0.0.1:{run.stack.smsc_control}/drop"
        window = run.seeded.window * run.seeded.binds
        while not run.done.wait(run.args.every):
            dropped = int(http_json(url, {})["dropped"])
            if dropped:
                run.fault(f"SMSC dropped {dropped} connection(s)", window)

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        return {"binds": figures.smsc.get("binds", 0),
                "receipts_redelivered": max(0, figures.smsc.get("receipts_sent", 0)
                                            - figures.smsc.get("receipts_acked", 0))}


if __name__ == "__main__":
    sys.exit(SmscDrops().main())
