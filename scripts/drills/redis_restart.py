"""Redis restarted mid-campaign with its data lost: queues, jobs, flags, throttle, locks.

    .venv/bin/python -m scripts.drills.redis_restart [--at 0.05,0.3,0.65] [--down 2]
                                                     [--contacts 50000] [--devices 10000]

An SMS and push campaign; when the given shares of its rows have left the queue (the first
while the audience is still being expanded and pushes sent), the stack's Redis is killed
(SIGKILL, no persistence) and, `--down` seconds later, an empty one starts on the same socket.
SMS has nothing in Redis to lose: the smpp process claims its rows from the ledger, its runners
keep looking while the wake-ups are away, so SMS must finish with nothing re-enqueued by the
clock (the drill checks that no SMS queue ever exists, and reports the jobs the clock enqueued
again, all push: the push batches and their lists of ids are gone, and the clock's orphan sweep
enqueues the push rows again after ORPHAN_AFTER_SECONDS, 5 s in drills). Every process must
carry on by itself. What a restart may leave `unknown`: the rows claimed at that moment (two
SMS chunks, one push batch per worker); nothing is expected to be.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run


class RedisRestart(Drill):
    name = "redis_restart"
    doc = __doc__
    devices = 10_000

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--at", default="0.05,0.3,0.65",
                            help="shares of the rows out of the queue at which Redis restarts")
        parser.add_argument("--down", type=float, default=2.0, help="seconds without Redis")

    def inject(self, run: Run) -> None:
        assert run.stack.redis is not None
        for _ in run.at_shares(run.args.at):
            run.fault(f"Redis killed at {run.progress():.0%}, empty again "
                      f"{run.args.down:g} s later", run.in_flight())
            run.stack.redis.kill()
            run.done.wait(run.args.down)
            run.stack.redis.start()

    def _sms_queues(self, run: Run) -> int:
        from dispatch.jobs.redis_conn import get_redis

        assert run.stack.app is not None
        with run.stack.app.app_context():
            return len(get_redis(run.stack.app).keys("rq:queue:sms*"))

    def _clock_requeued(self, run: Run) -> int:
        """Jobs the clock's orphan sweep enqueued again (push batches: SMS has none)."""
        text = run.stack.procs["clock"].log.read_text(errors="replace")
        return sum(int(n) for n in re.findall(r"requeued_jobs'?\"?: (\d+)", text))

    def check(self, run: Run, figures: Figures) -> list[str]:
        queues = self._sms_queues(run)
        return [f"{queues} SMS queue(s) in Redis: SMS must not go through RQ"] if queues else []

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        return {"sms_queues": self._sms_queues(run),
                "clock_requeued_push_jobs": self._clock_requeued(run)}


if __name__ == "__main__":
    sys.exit(RedisRestart().main())
