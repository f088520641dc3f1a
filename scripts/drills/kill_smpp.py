"""kill -9 of the smpp process (`flask smpp run`) at random moments, restarted each time.

    .venv/bin/python -m scripts.drills.kill_smpp [--kills 5] [--seed N] [--contacts 50000]
                                                 [--tps 10000] [--timeout 1800]

An SMS campaign (50,000 recipients by default); at `--kills` moments drawn at random between
5 % and 95 % of its rows leaving the queue, the smpp process's whole process group gets SIGKILL
(no handler runs, nothing is drained or put back) and the same command starts again at once;
the next kill waits until the new process is bound. What a kill may leave `unknown`: the rows
claimed and not yet recorded, at most two chunks of `claim_size` (dispatch/sms/send.py); the
drill checks that bound at every kill (the rows newly `sending` right after it, claimed.Left)
and that there are no more `unknown` rows than the kills left.
"""

from __future__ import annotations

import argparse
import random
import sys

from scripts.drills.campaign import Figures
from scripts.drills.claimed import Left
from scripts.drills.faults import Drill, Run, say


class KillSmpp(Drill):
    name = "kill_smpp"
    doc = __doc__
    min_faults = 5

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--kills", type=int, default=5)
        parser.add_argument("--seed", type=int, help="for the moments (default: random)")

    def inject(self, run: Run) -> None:
        self.min_faults = run.args.kills
        seed = run.args.seed if run.args.seed is not None else random.randrange(10**6)
        rng = random.Random(seed)
        moments = sorted(rng.uniform(0.05, 0.95) for _ in range(run.args.kills))
        say(f"kill moments (seed {seed}): {', '.join(f'{m:.0%}' for m in moments)}")
        left = run.notes["left"] = Left()
        run.notes["seed"] = seed
        for share in moments:
            if not run.wait_progress(share):
                return
            run.stack.kill("smpp")
            # Read after the kill: what the dead process left claimed (the only sender).
            n = left.after_kill(run.stack, run.cid)
            run.fault(f"smpp killed at {run.progress():.0%}, {n} rows left sending",
                      run.sms_in_flight())
            run.stack.start_process("smpp")
            run.stack.wait_smpp(timeout=120)

    def check(self, run: Run, figures: Figures) -> list[str]:
        left: Left = run.notes.get("left") or Left()
        window = run.sms_in_flight()
        failures = [f"kill {i}: {n} rows left sending, more than the {window} the sender "
                    f"claims at most" for i, n in enumerate(left.counts, 1) if n > window]
        if figures.unknown > left.total:
            failures.append(f"{figures.unknown} unknown, but the kills left only {left.total} "
                            f"rows sending")
        return failures

    def extras(self, run: Run, figures: Figures) -> dict[str, object]:
        left: Left = run.notes.get("left") or Left()
        return {"left_sending": ",".join(map(str, left.counts)), "window": run.sms_in_flight(),
                "seed": run.notes.get("seed")}


if __name__ == "__main__":
    sys.exit(KillSmpp().main())
