"""One account at its allowance against an SMSC that polices it, measured at the stand-in.

    .venv/bin/python -m scripts.bench.allowance --tps 50 --policing interval --seconds 300
    .venv/bin/python -m scripts.bench.allowance --tps 200 --policing second --seconds 300
    .venv/bin/python -m scripts.bench.allowance --tps 50 --policing interval --burst-at 20
    .venv/bin/python -m scripts.bench.allowance --tps 5000 --resp-delay 0.03 --binds 2 \
        --window 20 --seconds 60                                   (the latency case)

The stand-in (`python -m scripts.smsc`) runs as a process of its own, policing `--tps` for the
account as `--policing` says (second, sliding, interval, interval_bind) and answering every
submit `--resp-delay` late. This process binds `--binds` sessions sharing the account's
RedisThrottle at the same TPS, paced as `--pacing` says (default: spacing for the interval
policings, per_second otherwise), and keeps them busy for `--seconds`. Redis: REDIS_URL, or an
embedded redis-server for the run. `--burst-at S` refuses every submit for `--burst` seconds
from S (a forced burst of 0x58) and reports how long the rate took to come back above 90 %.

Reported, from the stand-in's records: the accepted rate over the whole seconds of the run
(its share of the allowance), the share of submits refused, messages lost (no accepted outcome)
and repeated (accepted twice), the smallest gap between two accepted submits of the account
(and of one bind) as the stand-in stamped them, and what `dispatch.sms.pace` says limits the
account at the end of the run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis as redis_lib

from dispatch.sms.pace import account_pace
from gateways.smpp import OutboundSms, RedisThrottle, Session, SessionConfig, SubmitHandle
from scripts.harness import Redis, http_json
from scripts.harness.standins import start_smsc

ACCOUNT = "bench"


class Dawdling(RedisThrottle):
    """Lets each PDU go up to `dawdle` seconds after its slot, at random: what a busy machine
    does (a thread switch, a late wake-up), made to happen in a test."""

    dawdle = 0.0
    _random = random.Random(14)

    def acquire(self, n: int = 1) -> float:
        waited = super().acquire(n)
        late = self._random.random() * self.dawdle
        time.sleep(late)
        return waited + late


def run(*, tps: int, policing: str = "second", seconds: float = 10.0, binds: int = 1,
        window: int = 20, pacing: str | None = None, resp_delay: float = 0.0,
        tolerance: float = 0.0, burst_at: float | None = None, burst: float = 1.0,
        redis_url: str | None = None, throttle_tps: int | None = None,
        realtime: bool = False, margin: float | None = None, dawdle: float = 0.0,
        arrival: str = "kernel", pad: dict[str, float] | None = None) -> dict[str, Any]:
    """One run (see the module docstring); returns its figures."""
    pacing = pacing or ("spacing" if policing.startswith("interval") else "per_second")
    embedded = None
    if redis_url is None:
        embedded = Redis(Path(tempfile.mkdtemp(prefix="loa-allowance-"))).start()
        redis_url = embedded.url
    client = redis_lib.Redis.from_url(redis_url)
    key = f"loa:bench:allowance:{os.getpid()}:{time.time_ns()}"
    proc, port, control = start_smsc(
        "--no-receipts", "--receipt-delay", "0", "--tps", str(tps), "--policing", policing,
        "--tolerance", str(tolerance), "--resp-delay", str(resp_delay), "--arrival", arrival,
        *(["--realtime"] if realtime else []), account=(ACCOUNT, ACCOUNT))
    base = f"http://127.0.0.1:{control}"
    sessions: list[Session] = []
    try:
        throttle = (Dawdling if dawdle else RedisThrottle)(
            client, key, rate=throttle_tps or tps, pacing=pacing,
            **({} if margin is None else {"margin": margin}), **(pad or {}))
        if isinstance(throttle, Dawdling):
            throttle.dawdle = dawdle
        for number in range(binds):
            config = SessionConfig("127.0.0.1", port, ACCOUNT, ACCOUNT, source="LOA",
                                   window=window, response_timeout=30.0,
                                   # a short queue: the run ends soon after `seconds`
                                   queue_limit=max(2, window // 2))
            session = Session(config, name=f"bench-{number}", on_deliver=lambda event: True,
                              throttle=throttle).start()
            if not session.wait_bound(10):
                raise RuntimeError(f"bind {number} did not come up")
            sessions.append(session)
        handles: list[list[SubmitHandle]] = [[] for _ in sessions]
        started = time.time()
        end = started + seconds

        def feed(number: int, session: Session) -> None:
            count = 0
            while time.time() < end:
                handles[number].append(session.submit(OutboundSms(
                    f"{number}-{count}", f"849{number}{count:07d}", "Allowance"), timeout=30))
                count += 1

        def force_burst() -> None:
            assert burst_at is not None
            time.sleep(max(0.0, started + burst_at - time.time()))
            http_json(f"{base}/behaviour", {"throttle_ratio": 1.0})
            time.sleep(burst)
            http_json(f"{base}/behaviour", {"throttle_ratio": 0.0})

        intervals: list[float] = []

        def sample() -> None:  # the spaced interval in force (pad and cut included), 10 a second
            while time.time() < end:
                intervals.append(throttle._interval(time.monotonic()))
                time.sleep(0.1)

        threads = [threading.Thread(target=feed, args=(n, s), daemon=True)
                   for n, s in enumerate(sessions)]
        if pacing == "spacing":
            threads.append(threading.Thread(target=sample, daemon=True))
        if burst_at is not None:
            threads.append(threading.Thread(target=force_burst, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = [h.wait(60) for hs in handles for h in hs]
        statuses = [s.status() for s in sessions]
        rows = [{**_status_row(st), "account_id": 1} for st in statuses]
        pace = account_pace(1, ACCOUNT, tps, rows)
        for session in sessions:
            session.close(timeout=5)
        stats = http_json(f"{base}/stats")
        records = http_json(f"{base}/received")
    finally:
        for session in sessions:
            session.close(timeout=1)
        proc.stop()
        client.close()
        if embedded is not None:
            embedded.kill()
    return _figures(tps=tps, policing=policing, pacing=pacing, seconds=seconds, binds=binds,
                    window=window, resp_delay=resp_delay, tolerance=tolerance,
                    realtime=realtime, margin=0.02 if margin is None else margin,
                    arrival=arrival,
                    dawdle=dawdle,
                    burst_at=burst_at, burst=burst, started=started, outcomes=outcomes,
                    stats=stats, records=records, pace=pace.as_dict(),
                    round_trips=[st.round_trip for st in statuses],
                    throttle={**_throttle_figures(throttle), "pad": pad or {},
                              "mean_interval_ms": round(statistics.mean(intervals) * 1000, 4)
                              if intervals else None})


def _throttle_figures(throttle: RedisThrottle) -> dict[str, Any]:
    """Spacing: how late the writes were after their slots, on average, and the round trips
    to Redis and tenures it took."""
    return {"round_trips": throttle.reservations, "tenures": throttle.tenures,
            "writes": throttle.writes,
            "mean_late_ms": round(throttle.late / throttle.writes * 1000, 3)
            if throttle.writes else None}


def _status_row(status: Any) -> dict[str, Any]:
    from dataclasses import asdict
    return {k: v for k, v in asdict(status).items() if k != "since"}


def _figures(*, tps: int, started: float, outcomes: list[Any], stats: dict[str, Any],
             records: list[dict[str, Any]], burst_at: float | None, burst: float,
             seconds: float, **settings: Any) -> dict[str, Any]:
    accepted = [r for r in records if r["status"] == 0]
    per_second: dict[int, int] = defaultdict(int)
    for r in accepted:
        per_second[int(r["at"])] += 1
    first, last = int(started) + 1, int(started + seconds) - 1  # whole seconds of the run
    steady = [per_second.get(s, 0) for s in range(first, last)
              if burst_at is None or not started + burst_at - 1 <= s <= started + burst_at + 12]
    refused = stats.get("refused_0x58", 0) + stats.get("refused_0x14", 0)
    submits = stats.get("submits", 0)
    figures: dict[str, Any] = {
        **settings, "tps": tps, "seconds": seconds,
        "accepted": stats.get("accepted", 0), "refused": refused,
        "refused_share": round(refused / submits, 4) if submits else 0.0,
        "lost": sum(1 for o in outcomes if o is None or not o.ok),
        "repeats": stats.get("repeats", 0),
        "rate": round(statistics.mean(steady), 1) if steady else 0.0,
        "rate_share": round(statistics.mean(steady) / tps, 3) if steady else 0.0,
        "worst_second": min(steady) if steady else 0,
        "busiest_second": max(per_second.values()) if per_second else 0,
        "min_gap": _min_gap(accepted),
        "min_gap_bind": _min_gap_per_bind(accepted),
        # Submits (any outcome) closer to the previous one than the interval less the
        # stand-in's tolerance: what spacing must keep (near) zero.
        "crowded": _crowded(records, 1.0 / tps - settings["tolerance"],
                            per_bind=settings["policing"] == "interval_bind"),
        # Stamped by the kernel's receive time; of them, submits whose stamp was the previous
        # one's (read so late that the kernel had merged them); how late the stand-in read.
        "stamped_kernel": stats.get("stamped_kernel", 0),
        "stamps_shared": stats.get("stamps_shared", 0),
        "read_delay_ms": _read_delay(records),
    }
    if burst_at is not None:
        back = started + burst_at + burst
        recovered = next((s for s in range(int(back) + 1, int(started + seconds))
                          if per_second.get(s, 0) >= 0.9 * tps), None)
        figures["recovered_after"] = None if recovered is None else round(recovered + 1 - back, 1)
    return figures


def _read_delay(records: list[dict[str, Any]]) -> dict[str, float] | None:
    """From a submit's arrival to the stand-in's read of it (ms): p50, p99, max."""
    delays = sorted((r["read_at"] - r["at"]) * 1000 for r in records
                    if r.get("read_at") is not None)
    if not delays:
        return None
    return {"p50": round(delays[len(delays) // 2], 3),
            "p99": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 3),
            "max": round(delays[-1], 3)}


def _min_gap(records: list[dict[str, Any]]) -> float | None:
    stamps = sorted(r["at"] for r in records)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return round(min(gaps), 5) if gaps else None


def _crowded(records: list[dict[str, Any]], interval: float, *, per_bind: bool) -> int:
    groups: dict[Any, list[float]] = defaultdict(list)
    for r in records:
        groups[r.get("bind") if per_bind else None].append(r["at"])
    return sum(1 for stamps in groups.values()
               for a, b in itertools.pairwise(sorted(stamps)) if b - a < interval)


def _min_gap_per_bind(records: list[dict[str, Any]]) -> float | None:
    by_bind: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_bind[r.get("bind")].append(r)
    gaps = [g for rs in by_bind.values() if (g := _min_gap(rs)) is not None]
    return min(gaps) if gaps else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tps", type=int, default=50)
    parser.add_argument("--policing", default="second",
                        choices=("second", "sliding", "interval", "interval_bind"))
    parser.add_argument("--pacing", choices=("spacing", "per_second"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--resp-delay", type=float, default=0.0)
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="interval policing: the stand-in's slack (seconds)")
    parser.add_argument("--realtime", action="store_true",
                        help="the stand-in at real-time priority (an SMSC on a host of its own)")
    parser.add_argument("--margin", type=float,
                        help="the throttle's margin (share of the TPS left unused; default 2 %%)")
    parser.add_argument("--arrival", default="kernel", choices=("kernel", "read"),
                        help="the stand-in stamps each submit when the kernel received it "
                        "(default) or when its loop read it (an SMSC that stamps late)")
    for name in ("step", "every", "debounce", "cap"):
        parser.add_argument(f"--pad-{name}", type=float, help=f"spacing: the pad's `pad_{name}`")
    parser.add_argument("--burst-at", type=float, help="force refusals from this second")
    parser.add_argument("--burst", type=float, default=1.0, help="for this long")
    args = parser.parse_args()
    figures = run(tps=args.tps, policing=args.policing, seconds=args.seconds, binds=args.binds,
                  window=args.window, pacing=args.pacing, resp_delay=args.resp_delay,
                  tolerance=args.tolerance, burst_at=args.burst_at, burst=args.burst,
                  realtime=args.realtime, margin=args.margin, arrival=args.arrival,
                  redis_url=os.environ.get("REDIS_URL"),
                  pad={f"pad_{n}": v for n in ("step", "every", "debounce", "cap")
                       if (v := getattr(args, f"pad_{n}")) is not None})
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
