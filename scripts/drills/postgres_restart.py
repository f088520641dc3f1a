"""PostgreSQL restarted mid-campaign: every process must ride it out by itself.

    .venv/bin/python -m scripts.drills.postgres_restart [--at 0.05,0.3,0.65]
        [--modes fast,immediate] [--contacts 50000] [--devices 10000]

The stack runs on a private cluster (scripts.harness.private_pg: initdb in a temporary folder, a
free port, run as the `postgres` user), never the machine's PostgreSQL service. When the given
shares of the campaign's rows (SMS and push) have left the queue (the first while the audience
is still being expanded and pushes sent), the cluster is restarted with `pg_ctl restart -m
<mode>`, the modes taken in turn: `fast` ends every session and checkpoints, `immediate` kills the
server and recovers from the WAL on start. Every connection of every process breaks. What a
restart may leave `unknown`: the rows claimed at that moment (two SMS chunks, one push batch per
worker), whose outcome may not have been written.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from scripts.drills.campaign import Figures
from scripts.drills.faults import Drill, Run
from scripts.harness.private_pg import PrivatePostgres


class PostgresRestart(Drill):
    name = "postgres_restart"
    doc = __doc__
    devices = 10_000

    def __init__(self) -> None:
        self.pg: PrivatePostgres | None = None
        self.downtimes: list[float] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--at", default="0.05,0.3,0.65",
                            help="shares of the rows out of the queue at which it restarts")
        parser.add_argument("--modes", default="fast,immediate",
                            help="pg_ctl shutdown mode of each restart, in turn")

    def database(self, exits: contextlib.ExitStack, args: argparse.Namespace) -> str | None:
        self.pg = exits.enter_context(PrivatePostgres())
        return self.pg.url

    def inject(self, run: Run) -> None:
        assert self.pg is not None
        modes = run.args.modes.split(",")
        for n in run.at_shares(run.args.at):
            mode = modes[n % len(modes)]
            run.fault(f"pg_ctl restart -m {mode} at {run.progress():.0%}",
                      run.in_flight())
            self.downtimes.append(round(self.pg.restart(mode), 1))

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        return {"restart_seconds": ",".join(str(d) for d in self.downtimes) or "-"}


if __name__ == "__main__":
    sys.exit(PostgresRestart().main())
