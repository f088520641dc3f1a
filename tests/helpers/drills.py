"""What the drill tests (tests/drills) check and print."""

from __future__ import annotations

from collections import Counter

from scripts.drills.stack import Stack

# Seconds from the restart to completion before a test gives up: a quiet machine needs about
# 20 (process start, claim timeout, the rest of the campaign); a loaded one several times that.
COMPLETE_WITHIN = 120


def accepted_per_destination(stack: Stack) -> Counter[str]:
    """Submits the SMSC stand-in accepted, per destination (its own records, not the ledger)."""
    return Counter(r["destination"] for r in stack.smsc_received() if r["status"] == 0)


def explain(stack: Stack) -> str:
    """The processes' last log lines, for a failing assertion."""
    return "\n".join(f"--- {name}\n{proc.tail(15)}" for name, proc in stack.procs.items())
