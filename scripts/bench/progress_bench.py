"""Benchmark: the progress endpoint under 100 requests/s while a 100,000-row campaign sends.

    .venv/bin/python -m scripts.bench.progress_bench [--rows 100000] [--rps 100] [--seconds 30]

PostgreSQL (a fresh schema in the `test` database), an embedded Redis, and the real web process
(gunicorn from the Procfile's settings) on a free loopback port. A writer thread plays the
senders: it moves the campaign's rows queued → sending → submitted → delivered in batches the
whole time. After a warm-up (not measured: connections opened, code paths warm), the load is
open-loop (requests start on schedule whatever earlier ones do), so
slow answers cannot hide by slowing the load down. Baseline in the same run: the uncached
computation (`progress.compute`) called directly, what every request would cost without the
cache. Target: p99 ≤ 100 ms at 100 requests/s. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scripts.bench import import_bench as ib
from scripts.harness import ROOT, WORK, free_port, machine


def prepare(rows: int) -> tuple[int, str]:
    """A sending campaign with `rows` queued rows and an API token; returns (id, token)."""
    from datetime import time as dtime

    from sqlalchemy import text

    from dispatch import create_app
    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus
    from dispatch.models.common import utcnow

    app = create_app()
    with app.app_context():
        user, _ = users.create_user("bench", ["editor"], actor=None, password=None)
        db.session.commit()
        c = Campaign(title="bench", channels="sms", created_by_id=user.id,
                     status=CampaignStatus.SENDING, launched_at=utcnow(),
                     window_start=dtime(0, 0), window_end=dtime(23, 59))
        db.session.add(c)
        db.session.commit()
        db.session.execute(text("""
            INSERT INTO messages (campaign_id, channel, recipient_id, address, operator,
                                  account_id, status, parts, attempts, created_at, queued_at)
            SELECT :cid, 'sms', g, '+8496' || lpad(g::text, 7, '0'),
                   (ARRAY['viettel','vinaphone','mobifone'])[1 + g % 3], 1 + g % 3,
                   'queued', 1, 0, now(), now()
            FROM generate_series(1, :n) AS g"""), {"cid": c.id, "n": rows})
        db.session.commit()
        _, secret = users.create_token(user, "bench")
        db.session.commit()
        return c.id, secret


def sender(campaign_id: int, stop: threading.Event, per_second: int) -> None:
    """Move rows through the statuses as senders and receipts would."""
    from sqlalchemy import text

    from dispatch import create_app
    from dispatch.extensions import db

    app = create_app()
    with app.app_context():
        steps = [("queued", "sending", "sending_at"), ("sending", "submitted", "submitted_at"),
                 ("submitted", "delivered", "finished_at")]
        while not stop.is_set():
            started = time.monotonic()
            for old, new, stamp in steps:
                db.session.execute(text(f"""
                    UPDATE messages SET status = :new, {stamp} = now()
                    WHERE id IN (SELECT id FROM messages
                                 WHERE campaign_id = :cid AND status = :old LIMIT :n)"""),
                                   {"new": new, "old": old, "cid": campaign_id,
                                    "n": per_second // 4})
                db.session.commit()
            time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))


def baseline(campaign_id: int, times: int) -> list[float]:
    from dispatch import create_app
    from dispatch.engine import progress
    from dispatch.extensions import db
    from dispatch.models import Campaign

    app = create_app()
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        out = []
        for _ in range(times):
            started = time.perf_counter()
            progress.compute(c)
            out.append((time.perf_counter() - started) * 1000)
        return out


def load(url: str, token: str, rps: int, seconds: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one() -> None:
        nonlocal errors
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                ok = response.status == 200
        except OSError:
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                errors += 1

    total = rps * seconds
    begin = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            delay = begin + i / rps - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rps", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--send-rate", type=int, default=2000, help="rows/s the writer moves")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load not measured")
    args = parser.parse_args()

    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    WORK.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="loa-progress-", dir=WORK))
    os.environ["REDIS_URL"] = ensure_embedded_redis(folder)
    url, cleanup = ib.fresh_database("postgresql", folder)
    os.environ.update(DATABASE_URL=url, LOA_INSTANCE_PATH=str(folder / "instance"))
    web = None
    stop = threading.Event()
    try:
        campaign_id, token = prepare(args.rows)
        port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--worker-class", "gthread", "--threads", "8", "dispatch:create_app()"],
            cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        endpoint = f"http://127.0.0.1:{port}/api/campaigns/{campaign_id}/progress"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        writer = threading.Thread(target=sender, args=(campaign_id, stop, args.send_rate),
                                  daemon=True)
        writer.start()
        load(endpoint, token, args.rps, args.warmup)  # connections opened, code paths warm
        latencies, errors = load(endpoint, token, args.rps, args.seconds)
        stop.set()
        writer.join(10)
        base = baseline(campaign_id, 20)
        print(json.dumps({
            "machine": machine(), "rows": args.rows, "rps": args.rps,
            "seconds": args.seconds, "requests": len(latencies), "errors": errors,
            "p50_ms": pct(latencies, 0.50), "p95_ms": pct(latencies, 0.95),
            "p99_ms": pct(latencies, 0.99), "max_ms": round(max(latencies), 1),
            "over_100ms": sum(1 for v in latencies if v > 100),
            "baseline_uncached_p50_ms": round(statistics.median(base), 1),
            "baseline_uncached_max_ms": round(max(base), 1),
            "meets_target": pct(latencies, 0.99) <= 100 and errors == 0,
        }))
    finally:
        stop.set()
        if web is not None:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(10)
        cleanup()
        stop_embedded_redis(folder)


if __name__ == "__main__":
    main()
