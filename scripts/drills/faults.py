"""What the fault drills share: a stack, a campaign, faults injected while it sends, one line.

    python -m scripts.drills.smsc_drops          the SMSC cuts every connection every 10 s
    python -m scripts.drills.smsc_throttles      0x58 to 20 % of submits, 0x14 when its window
                                                 is full
    python -m scripts.drills.redis_restart       Redis restarted empty mid-campaign
    python -m scripts.drills.postgres_restart    a private PostgreSQL restarted mid-campaign
    python -m scripts.drills.receipt_anomalies   duplicated, stray and early receipts, an MO flood

Each takes --contacts (default 50,000), --devices, --workers, --tps, --timeout, --keep (keep
the work folder and its logs; kept anyway when the drill fails).

A drill is a `Drill`: the stack it needs and `inject(run)`, which runs on a thread of its own
once the campaign is launched and injects faults until it has done them all or `run.done` is
set. It records each with `run.fault(what, in_flight)`, `in_flight` being the rows that fault
can leave `unknown` (what was in the SMPP window, claimed, or in a push batch when it struck).
The target is the harness's (`campaign.Figures.passed`): completed, duplicates 0, lost 0,
`unknown` no more than the faults' in-flight rows added up; a drill may add checks of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from scripts.drills import campaign
from scripts.drills.campaign import Figures, Seeded
from scripts.drills.stack import Stack

T = TypeVar("T")

# Statuses a row leaves once its sender is done with it (submitted or final).
UNSENT = ("pending", "queued", "sending")


@dataclass(frozen=True)
class Fault:
    what: str
    at: float  # seconds after the launch
    in_flight: int  # what this fault may leave `unknown`
    sending: int  # rows `sending` when it struck (-1: could not be read)


def say(message: str) -> None:
    print(f"drill: {message}", file=sys.stderr, flush=True)


def retry_db(fn: Callable[[], T], timeout: float = 120.0) -> T:
    """`fn()`, asked again while the database is away (restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except sa.exc.DBAPIError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


class Run:
    """One run of a drill: what `inject` works with and what it records."""

    def __init__(self, stack: Stack, seeded: Seeded, args: argparse.Namespace) -> None:
        self.stack = stack
        self.seeded = seeded
        self.args = args
        self.cid = 0
        self.started = time.monotonic()
        self.done = threading.Event()
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self.notes: dict[str, Any] = {}

    @property
    def targeted(self) -> int:
        return self.seeded.contacts + self.seeded.devices

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def sms_in_flight(self) -> int:
        return campaign.sms_in_flight(self.seeded)

    def push_in_flight(self) -> int:
        """A push job claims its whole batch at once; each worker runs one job at a time."""
        from dispatch.engine.enqueue import BATCH

        return self.stack.workers * BATCH if self.seeded.devices else 0

    def in_flight(self) -> int:
        """What a fault striking now may leave `unknown`: the SMS rows claimed at once while SMS
        rows are still unsent, plus one push batch per worker while push rows are."""
        unsent = {key.split(".", 1)[0] for key, n in self.counts().items()
                  if n and key.split(".", 1)[1] in UNSENT}
        return ((self.sms_in_flight() if "sms" in unsent else 0)
                + (self.push_in_flight() if "push" in unsent else 0))

    def fault(self, what: str, in_flight: int) -> None:
        try:
            sending = campaign.sending_now(self.stack, self.cid)
        except sa.exc.DBAPIError:
            sending = -1
        fault = Fault(what, round(self.elapsed(), 1), in_flight, sending)
        self.faults.append(fault)
        say(f"t={fault.at:.1f}s {what} (may leave {in_flight} unknown; {sending} sending)")

    @property
    def unknown_limit(self) -> int:
        return sum(f.in_flight for f in self.faults)

    def counts(self) -> dict[str, int]:
        return retry_db(lambda: campaign.status_counts(self.stack, self.cid))

    def progress(self) -> float:
        """The share of the targeted rows that left the queue (submitted or final)."""
        counts = self.counts()
        moved = sum(n for key, n in counts.items() if key.split(".", 1)[1] not in UNSENT)
        return moved / max(1, self.targeted)

    def wait_progress(self, share: float) -> bool:
        """Wait until `share` of the rows left the queue; False if the run ended first."""
        while not self.done.is_set():
            if self.progress() >= share:
                return True
            self.done.wait(0.2)
        return False

    def at_shares(self, shares: str) -> Iterator[int]:
        """For "0.05,0.3,0.65": 0, 1, 2, each once that share of the rows left the queue;
        nothing more once the run has ended."""
        for n, share in enumerate(float(s) for s in shares.split(",")):
            if not self.wait_progress(share):
                return
            yield n


class Drill:
    """One kind of fault (see the module docstring); subclasses override what they need."""

    name = "drill"
    doc = ""
    devices = 0  # default --devices (push alongside the SMS)
    window = 10  # the SMPP account's window
    min_faults = 1  # a run in which fewer faults struck proves nothing

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def smsc_args(self, args: argparse.Namespace) -> tuple[str, ...]:
        return ()

    def database(self, exits: contextlib.ExitStack, args: argparse.Namespace) -> str | None:
        """The database URL for the stack (None: the harness's fresh schema)."""
        return None

    def inject(self, run: Run) -> None:
        raise NotImplementedError

    def check(self, run: Run, figures: Figures) -> list[str]:
        """Failures beyond the common target."""
        return []

    def extras(self, run: Run, figures: Figures) -> dict[str, Any]:
        """More figures for the line (name=value)."""
        return {}

    # -- the run ------------------------------------------------------------------------------

    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(
            prog=f"python -m scripts.drills.{self.name}", description=self.doc,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--contacts", type=int, default=50_000)
        parser.add_argument("--devices", type=int, default=self.devices)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--tps", type=int, default=10_000)
        parser.add_argument("--timeout", type=float, default=1800,
                            help="seconds from the launch to completion")
        parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
        self.add_arguments(parser)
        return parser

    def main(self, argv: list[str] | None = None) -> int:
        args = self.parser().parse_args(argv)
        with contextlib.ExitStack() as exits:
            url = self.database(exits, args)
            stack = exits.enter_context(Stack(
                workers=args.workers, fcm=args.devices > 0, database_url=url,
                smsc_args=self.smsc_args(args), keep=args.keep))
            line, ok = self._run(stack, args)
            if not ok:
                stack.keep = True
                say(f"logs kept in {stack.workdir}")
        print(line, flush=True)
        return 0 if ok else 1

    def _run(self, stack: Stack, args: argparse.Namespace) -> tuple[str, bool]:
        seeded = campaign.seed(stack, contacts=args.contacts, devices=args.devices,
                               tps=args.tps, window=self.window)
        stack.wait_ready()
        run = Run(stack, seeded, args)
        run.cid = campaign.launch(stack, seeded)
        run.started = time.monotonic()
        say(f"campaign {run.cid} launched: {args.contacts} SMS, {args.devices} push")
        injector = threading.Thread(target=self._inject, args=(run,), name="inject", daemon=True)
        injector.start()
        failures: list[str] = []
        try:
            if not self._wait(run, args.timeout):
                failures.append(f"not completed within {args.timeout:.0f} s")
        except RuntimeError as exc:  # a process died that no one killed
            failures.append(str(exc).splitlines()[0])
            say(str(exc))
        seconds = run.elapsed()
        run.done.set()
        injector.join(120)
        figures = retry_db(lambda: campaign.figures(stack, run.cid, seeded, seconds))
        limit = run.unknown_limit
        if not figures.passed(limit):
            failures.append("target missed")
        if len(run.faults) < self.min_faults:
            failures.append(f"{len(run.faults)} fault(s) injected, {self.min_faults} needed")
        failures += run.errors + self.check(run, figures)
        try:
            stack.check_alive()
        except RuntimeError as exc:
            if str(exc).splitlines()[0] not in failures:
                failures.append(str(exc).splitlines()[0])
        extras: dict[str, Any] = {"faults": len(run.faults), "unknown_limit": limit}
        if stack.with_fcm:  # pushes FCM got: was an `unknown` push sent or not?
            extras["push_at_fcm"] = sum(stack.fcm_counters()["by_token"].values())
        extras.update(self.extras(run, figures))
        for fault in run.faults:
            say(f"fault at {fault.at}s: {fault.what}, in flight {fault.in_flight}, "
                f"sending {fault.sending}")
        say(f"by status: {figures.by_status}")
        for failure in failures:
            say(f"FAIL: {failure}")
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        verdict = "FAIL" if failures else "PASS"
        return f"{self.name} {figures.line()} {tail} {verdict}", not failures

    def _inject(self, run: Run) -> None:
        try:
            self.inject(run)
        except Exception:
            run.errors.append("the fault injector failed (see above)")
            traceback.print_exc()

    def _wait(self, run: Run, timeout: float) -> bool:
        """Wait for completion; the drill's own reads ride out a database restart."""
        deadline = run.started + timeout
        while True:
            try:
                return campaign.wait_completed(run.stack, run.cid,
                                               max(0.0, deadline - time.monotonic()))
            except sa.exc.DBAPIError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.5)
