"""kill -9 of RQ workers (`flask worker`) during expansion and during push batches.

    .venv/bin/python -m scripts.drills.kill_workers [--contacts 50000] [--devices 20000]
                                                    [--push-at 0.1,0.35,0.6] [--workers 2]

An SMS and push campaign. During expansion (after at least one batch is committed, and again
once the push side is being expanded if it still is), the worker running the expand job gets
SIGKILL and is started again: the clock enqueues the expansion again once its heartbeat lapses,
it continues after its checkpoint, and rows committed before their send jobs were enqueued are
orphans the clock enqueues. During push batches, when the given shares of the push rows have
left the queue, the workers running a push batch that has claimed its rows are killed (one,
one, then all of them) and started again. What a push kill may leave `unknown`: the batch each
killed worker had claimed, at most 500 rows; the drill reads exactly those rows (the killed
jobs' ids still `sending`) and checks that no other row ended `unknown`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import sqlalchemy as sa

from scripts.drills.campaign import Figures
from scripts.drills.claimed import Left
from scripts.drills.faults import UNSENT, Drill, Run, say

EXPAND_JOB = "dispatch.engine.expand.expand"
PUSH_JOB = "dispatch.push.send.send_batch"


def expansion(run: Run) -> tuple[dict[str, int], bool]:
    """The expansion's checkpoint (last id per channel) and whether it has finished."""
    from dispatch.extensions import db
    from dispatch.models import Campaign

    assert run.stack.app is not None
    with run.stack.app.app_context():
        cursor, done = db.session.execute(sa.select(Campaign.expand_cursor, Campaign.expanded_at)
                                          .where(Campaign.id == run.cid)).one()
        db.session.remove()
        return dict(cursor or {}), done is not None


def push_progress(run: Run) -> float:
    counts = run.counts()
    moved = sum(n for key, n in counts.items()
                if key.startswith("push.") and key.split(".", 1)[1] not in UNSENT)
    return moved / max(1, run.seeded.devices)


class KillWorkers(Drill):
    name = "kill_workers"
    doc = __doc__
    devices = 20_000
    min_faults = 4

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--push-at", default="0.1,0.35,0.6",
                            help="shares of the push rows out of the queue at which to kill; "
                            "the last kills every worker running a push batch")

    def inject(self, run: Run) -> None:
        run.notes["left"] = Left()
        run.notes["expansion_kills"] = 0
        run.notes["push_kills"] = 0
        for channel in ("sms", "push"):
            self._kill_expansion(run, channel)
        shares = [float(s) for s in run.args.push_at.split(",") if s]
        for number, share in enumerate(shares, 1):
            self._kill_push(run, share, every=number == len(shares))

    def _kill_expansion(self, run: Run, channel: str) -> None:
        """Kill the expand job's worker once a batch of `channel` is committed, if it still runs."""
        while not run.done.is_set():
            cursor, done = expansion(run)
            if done:
                say(f"expansion finished before a kill while expanding {channel}")
                return
            if channel in cursor:
                victims = run.stack.running(EXPAND_JOB)
                if victims:
                    break
            time.sleep(0.02)
        else:
            return
        for name in victims:
            run.stack.kill(name)
        # An expand job claims nothing: its kill leaves no row `sending`.
        run.notes["left"].after_kill(run.stack, run.cid, among=())
        run.notes["expansion_kills"] += 1
        run.fault(f"{'+'.join(victims)} killed expanding {channel} (checkpoint {cursor})", 0)
        for name in victims:
            run.stack.start_process(name)
            run.stack.wait_worker(name, timeout=120)

    def _kill_push(self, run: Run, share: float, *, every: bool) -> None:
        """At `share` of the push rows sent, kill a worker whose push batch has claimed its rows
        (all such workers when `every`)."""
        from dispatch.engine.enqueue import BATCH

        jobs: dict[str, Any] = {}
        while not run.done.is_set():
            if push_progress(run) >= share:
                jobs = {name: job for name, job in run.stack.current_jobs(PUSH_JOB).items()
                        if self._claimed(run, job)}
                if jobs:
                    break
            time.sleep(0.02)
        if not jobs:
            return
        victims = sorted(jobs) if every else sorted(jobs)[:1]
        for name in victims:
            run.stack.kill(name)
        ids = [i for name in victims for i in jobs[name].args[1]]
        n = run.notes["left"].after_kill(run.stack, run.cid, among=ids)
        run.notes["push_kills"] += 1
        run.fault(f"{'+'.join(victims)} killed in a push batch at {push_progress(run):.0%}, "
                  f"{n} rows left sending", BATCH * len(victims))
        for name in victims:  # not waited for: the next kill may come while they start
            run.stack.start_process(name)

    @staticmethod
    def _claimed(run: Run, job: Any) -> bool:
        from scripts.drills.claimed import sending_ids

        return bool(sending_ids(run.stack, run.cid) & set(job.args[1]))

    def check(self, run: Run, figures: Figures) -> list[str]:
        left: Left = run.notes.get("left") or Left()
        failures = [f"{f.what}: more than {f.in_flight} rows left sending"
                    for f, n in zip(run.faults, left.counts, strict=False) if n > f.in_flight]
        if figures.unknown > left.total:
            failures.append(f"{figures.unknown} unknown, but the kills left only {left.total} "
                            f"rows sending")
        if not run.notes.get("expansion_kills"):
            failures.append("no kill landed during expansion")
        if not run.notes.get("push_kills"):
            failures.append("no kill landed during push batches")
        return failures

    def extras(self, run: Run, figures: Figures) -> dict[str, object]:
        left: Left = run.notes.get("left") or Left()
        return {"expansion_kills": run.notes.get("expansion_kills", 0),
                "push_kills": run.notes.get("push_kills", 0),
                "left_sending": ",".join(map(str, left.counts))}


if __name__ == "__main__":
    sys.exit(KillWorkers().main())
