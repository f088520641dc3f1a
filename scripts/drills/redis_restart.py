"""Redis restarted mid-campaign with its data lost: queues, jobs, flags, throttle, locks.

    .venv/bin/python -m scripts.drills.redis_restart [--at 0.05,0.3,0.65] [--down 2]
                                                     [--contacts 50000] [--devices 10000]

An SMS and push campaign; when the given shares of its rows have left the queue (the first
while the audience is still being expanded and pushes sent), the stack's Redis is killed
(SIGKILL, no persistence) and, `--down` seconds later, an empty one starts on the same socket.
The send jobs and their lists of ids are gone: the clock's orphan sweep must enqueue the
`queued` rows again (ORPHAN_AFTER_SECONDS, 5 s in drills) and every process must carry on by
itself. What a restart may leave `unknown`: the rows claimed at that moment (two
SMS chunks, one push batch per worker); nothing is expected to be.
"""

from __future__ import annotations

import argparse
import sys

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


if __name__ == "__main__":
    sys.exit(RedisRestart().main())
