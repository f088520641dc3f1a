"""Throttle accuracy: one account's TPS shared by several processes, measured at the stand-in.

    .venv/bin/python -m scripts.bench.smpp_throttle [--tps 200] [--processes 3] [--seconds 30]

The stand-in runs in this process (loopback); each worker process binds its own session, shares
the account's RedisThrottle and submits as fast as the throttle lets it from a common start time
for `--seconds`. Redis: REDIS_URL, or an embedded redis-server started for the run. Reported:
PDUs the stand-in received in the measured interval, the busiest wall-clock second and the
busiest sliding one-second window (from arrival times); and the busiest sliding window of the
times the throttle let each PDU go, taken in the senders (the stand-in is one Python process:
at thousands of PDUs a second its own pauses bunch arrivals, which the sender side does not see).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from gateways.smpp import OutboundSms, RedisThrottle, Session, SessionConfig
from scripts.harness import ROOT, busiest_second, python_module

ACCOUNT = "bench"
THROTTLE_KEY = f"loa:bench:throttle:{ACCOUNT}"  # the bench's own key, not an account's


class StampingThrottle(RedisThrottle):
    """Notes the wall-clock time each PDU is let go (the session writes it right after)."""

    stamps: list[float]

    def acquire(self, n: int = 1) -> float:
        waited = super().acquire(n)
        self.stamps.extend([time.time()] * n)
        return waited


def worker(url: str, port: int, tps: float, start_at: float, seconds: float, number: int,
           stamps_to: str) -> None:
    throttle = StampingThrottle(redis.Redis.from_url(url), THROTTLE_KEY, rate=tps)
    throttle.stamps = []
    config = SessionConfig("127.0.0.1", port, ACCOUNT, ACCOUNT, source="LOA", window=50,
                           queue_limit=20)
    session = Session(config, name=f"worker-{number}", on_deliver=lambda event: True,
                      throttle=throttle).start()
    if not session.wait_bound(10):
        raise SystemExit(f"worker {number}: no bind")
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + seconds
    count = 0
    while time.time() < end:
        session.submit(OutboundSms(f"{number}-{count}", f"8490{number}{count:06d}", "Throttle"))
        count += 1
    session.close(timeout=5)
    Path(stamps_to).write_text("\n".join(repr(t) for t in throttle.stamps))
    print(f"worker {number}: {session.status().sent} submit_sm written, "
          f"{throttle.reservations} throttle round trips to Redis", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tps", type=float, default=200)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, port, start_at, number, seconds, stamps_to = args.worker
        worker(url, int(port), args.tps, float(start_at), float(seconds), int(number),
               stamps_to)
        return

    from scripts.smsc import Behaviour, Smsc

    stop_redis = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

        folder = Path(tempfile.mkdtemp(prefix="loa-throttle-bench-"))
        url = ensure_embedded_redis(folder)
        stop_redis = lambda: stop_embedded_redis(folder)  # noqa: E731
    redis.Redis.from_url(url).delete(THROTTLE_KEY, f"{THROTTLE_KEY}:penalty")
    smsc = Smsc({ACCOUNT: ACCOUNT}, Behaviour(receipt_delay=0.5)).start()
    start_at = time.time() + 3.0
    stamp_dir = Path(tempfile.mkdtemp(prefix="loa-throttle-stamps-"))
    try:
        workers = [subprocess.Popen(
            python_module("scripts.bench.smpp_throttle", "--tps", str(args.tps), "--worker", url,
                          str(smsc.port), repr(start_at), str(n), str(args.seconds),
                          str(stamp_dir / f"{n}.txt")), cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}) for n in range(args.processes)]
        for proc in workers:
            proc.wait(args.seconds + 60)
        end_at = start_at + args.seconds
        stamps = [r.at for r in smsc.received() if start_at <= r.at < end_at]
        seconds = smsc.per_second(ACCOUNT)
        full = {s: c for s, c in seconds.items() if start_at <= s and s + 1 <= end_at}
        sent = [float(line) for n in range(args.processes)
                for line in (stamp_dir / f"{n}.txt").read_text().split()]
        sent = [t for t in sent if start_at <= t < end_at]
        expected = args.tps * args.seconds
        print(f"TPS {args.tps:g} shared by {args.processes} processes for {args.seconds:g} s: "
              f"{len(stamps)} submit_sm in the interval ({len(stamps) / expected:.1%} of "
              f"{expected:g}), busiest wall-clock second {max(seconds.values())}, "
              f"busiest full second {max(full.values())}, busiest sliding 1 s window "
              f"{busiest_second(stamps)}; all received {sum(seconds.values())}; "
              f"at the senders: {len(sent)} let go in the interval, busiest sliding 1 s "
              f"window {busiest_second(sent)}")
    finally:
        smsc.stop()
        shutil.rmtree(stamp_dir, ignore_errors=True)
        if stop_redis:
            stop_redis()


if __name__ == "__main__":
    main()
