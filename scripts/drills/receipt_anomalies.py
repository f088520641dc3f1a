"""Receipts that come twice, for ids never issued, before their submit_sm_resp; an MO flood.

    .venv/bin/python -m scripts.drills.receipt_anomalies [--duplicates 0.1] [--strays 0.05]
                                                         [--mo 5000] [--contacts 50000]

The stand-in, for the whole campaign: sends every receipt before the submit_sm_resp of its
message (`--receipt-before-resp`, so each is stored unmatched and matched when the part is
written), delivers a tenth of the receipts twice, and after one accepted submit in twenty sends
a receipt for an id it never answered with. When a third of the rows have left the queue, a
burst of `--mo` MO messages from numbers outside the audience arrives at once (the control
port's `POST /mo` with a list), a quarter of them opt-out keywords in various spellings, some
numbers sending theirs twice.

Besides the common target (nothing `unknown` either: no fault here leaves anything in doubt):
every row `delivered`, every MO stored, and one SMS opt-out per number that sent a keyword.
The account's window is 50: the early receipt delays every submit_sm_resp, and a window of
10 would make the drill an hour long.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import sqlalchemy as sa

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run
from scripts.drills.stack import SMSC_ACCOUNT
from scripts.harness import http_json

KEYWORDS = ("HUY", "Hủy", " huy ", "STOP", "tc", "TuChoi")  # opt_out_keywords, spelt as people do
CHATTER = ("Cam on", "Xin hoi lich tiem o dau?", "ok", "Alo", "Dạ vâng")


def mo_burst(n: int) -> tuple[list[list[str]], set[str]]:
    """`n` MO messages from n // 2 numbers, every fourth a keyword; and the numbers that opted
    out (E.164)."""
    messages, opted = [], set()
    for i in range(n):
        source = f"8497{i % max(1, n // 2):07d}"
        if i % 4 == 0:
            text = KEYWORDS[(i // 4) % len(KEYWORDS)]
            opted.add(f"+{source}")
        else:
            text = CHATTER[i % len(CHATTER)]
        messages.append([source, "8088", text])
    return messages, opted


class ReceiptAnomalies(Drill):
    name = "receipt_anomalies"
    doc = __doc__
    window = 50

    def __init__(self) -> None:
        self.mo_parts = 0
        self.opted: set[str] = set()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--duplicates", type=float, default=0.1,
                            help="share of receipts delivered twice")
        parser.add_argument("--strays", type=float, default=0.05,
                            help="share of accepted submits followed by a receipt for an "
                            "unknown id")
        parser.add_argument("--mo", type=int, default=5000, help="MO messages in the burst")
        parser.add_argument("--mo-at", type=float, default=0.33,
                            help="share of the rows out of the queue when the burst comes")

    def smsc_args(self, args: argparse.Namespace) -> tuple[str, ...]:
        return ("--receipt-before-resp", "--receipt-delay", "0.05",
                "--duplicate-receipts", str(args.duplicates), "--stray-receipts", str(args.strays))

    def inject(self, run: Run) -> None:
        # The receipt anomalies strike from the first submit; none leaves a row in doubt.
        run.fault("receipts before responses, duplicated, for unknown ids", 0)
        if not run.wait_progress(run.args.mo_at):
            return
        messages, self.opted = mo_burst(run.args.mo)
        run.fault(f"MO flood: {len(messages)} deliver_sm, {len(self.opted)} numbers opting out",
                  0)
        url = f"http://127.0.0.1:{run.stack.smsc_control}/mo"
        self.mo_parts = int(http_json(url, {"account": SMSC_ACCOUNT[0], "messages": messages},
                                      timeout=60)["parts"])

    def _stored(self, run: Run) -> dict[str, int]:
        from dispatch.extensions import db
        from dispatch.models import InboundMessage, OptOut, RawReceipt

        assert run.stack.app is not None
        with run.stack.app.app_context():
            count = sa.func.count()
            out = {
                "mo_stored": db.session.scalar(sa.select(count).select_from(InboundMessage)),
                "mo_opt_out": db.session.scalar(sa.select(count).where(
                    InboundMessage.handled_as == "opt_out")),
                "optouts": db.session.scalar(sa.select(count).where(
                    OptOut.channel == "sms", OptOut.source == "keyword")),
                "raw_receipts": db.session.scalar(sa.select(count).select_from(RawReceipt)),
                "raw_unmatched": db.session.scalar(sa.select(count).where(
                    RawReceipt.part_id.is_(None))),
            }
            addresses = set(db.session.scalars(sa.select(OptOut.address).where(
                OptOut.channel == "sms")))
            db.session.remove()
        out["optouts_expected_missing"] = len(self.opted - addresses)
        return {k: int(v or 0) for k, v in out.items()}

    def check(self, run: Run, figures: Figures) -> list[str]:
        # The MO burst may still be being stored when the campaign completes.
        deadline = time.monotonic() + 120
        stored = self._stored(run)
        while stored["mo_stored"] < self.mo_parts and time.monotonic() < deadline:
            time.sleep(1)
            stored = self._stored(run)
        self.stored = stored
        failures = []
        if figures.delivered != figures.targeted:
            failures.append(f"{figures.targeted - figures.delivered} rows not delivered")
        if not self.mo_parts:
            failures.append("no MO burst was sent")
        if stored["mo_stored"] != self.mo_parts:
            failures.append(f"{stored['mo_stored']} MO stored of {self.mo_parts}")
        if stored["optouts"] != len(self.opted) or stored["optouts_expected_missing"]:
            failures.append(f"{stored['optouts']} opt-outs recorded, {len(self.opted)} expected "
                            f"({stored['optouts_expected_missing']} missing)")
        if not figures.smsc.get("duplicate_receipts") or not figures.smsc.get("stray_receipts"):
            failures.append("the SMSC sent no duplicated or no stray receipt")
        return failures

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        stored = getattr(self, "stored", {})
        return {"receipts_sent": figures.smsc.get("receipts_sent", 0),
                "receipts_duplicated": figures.smsc.get("duplicate_receipts", 0),
                "receipts_stray": figures.smsc.get("stray_receipts", 0),
                "raw_receipts": stored.get("raw_receipts", "?"),
                "raw_unmatched": stored.get("raw_unmatched", "?"),
                "mo_sent": self.mo_parts, "mo_stored": stored.get("mo_stored", "?"),
                "optouts_expected": len(self.opted), "optouts": stored.get("optouts", "?")}


if __name__ == "__main__":
    sys.exit(ReceiptAnomalies().main())
