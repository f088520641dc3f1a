"""The SMSC throttles: 0x58 to 20 % of submits, and 0x14 whenever its window is full.

    .venv/bin/python -m scripts.drills.smsc_throttles [--ratio 0.2] [--smsc-window 8]
                                                      [--resp-delay 0.02] [--contacts 50000]

The stand-in answers ESME_RTHROTTLED to a random fifth of the submit_sm (`--ratio`),
and ESME_RMSGQFUL when more than `--smsc-window` of the bind's submits are unanswered: smaller
than the account's window (10), and each answered `--resp-delay` late, so ours overfills it
all the time. A throttled PDU is resent by the session (the shared rate slows down meanwhile):
every row must end `delivered`, none `failed` or `unknown`, none sent twice.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run


class SmscThrottles(Drill):
    name = "smsc_throttles"
    doc = __doc__

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--ratio", type=float, default=0.2, help="share answered 0x58")
        parser.add_argument("--smsc-window", type=int, default=8,
                            help="unanswered submits above which the SMSC answers 0x14")
        parser.add_argument("--resp-delay", type=float, default=0.02,
                            help="seconds before each submit_sm_resp")

    def smsc_args(self, args: argparse.Namespace) -> tuple[str, ...]:
        return ("--throttle-ratio", str(args.ratio), "--window", str(args.smsc_window),
                "--resp-delay", str(args.resp_delay))

    def inject(self, run: Run) -> None:
        # The stand-in throttles from the start: one fault, recorded once it has struck. A
        # refusal leaves nothing in doubt (nothing may end `unknown`).
        while not run.faults and not run.done.wait(2.0):
            stats = run.stack.smsc_stats()
            if stats.get("refused_0x58") and stats.get("refused_0x14"):
                run.fault("SMSC throttling (0x58 and 0x14)", 0)

    def check(self, run: Run, figures: Figures) -> list[str]:
        failures = []
        if figures.delivered != figures.targeted:
            failures.append(f"{figures.targeted - figures.delivered} rows not delivered")
        if not figures.smsc.get("refused_0x58") or not figures.smsc.get("refused_0x14"):
            failures.append("the SMSC did not answer both 0x58 and 0x14")
        return failures

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        smsc = figures.smsc
        submits = smsc.get("submits", 0)
        return {"smsc_submits": submits, "throttled_0x58": smsc.get("refused_0x58", 0),
                "queue_full_0x14": smsc.get("refused_0x14", 0),
                "refused_share": f"{(submits - smsc.get('accepted', 0)) / max(1, submits):.2f}"}


if __name__ == "__main__":
    sys.exit(SmscThrottles().main())
