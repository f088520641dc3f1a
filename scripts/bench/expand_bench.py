"""Benchmark: expand a 1,000,000-recipient audience into the ledger, on PostgreSQL and SQLite.

    .venv/bin/python -m scripts.bench.expand_bench [--rows 1000000] [--backends postgresql,sqlite]

Per backend, on a fresh database (see import_bench.py, whose helpers this reuses): the contacts
are imported with `flask contacts import` (not timed), a campaign to that list is created,
approved and launched through the services (scripts/harness/expansion.py, shared with
strategy_bench and scale_bench), and then the expand job runs in a child process of its
own — the real job body, writing ledger rows and enqueuing send jobs into a real (embedded)
Redis. Wall time and peak RSS are that child's. The baseline, in the same run, is the naive
expansion: load every contact through the ORM and add one Message object per recipient, on the
first --baseline-rows recipients, extrapolated. Children are killed after --timeout seconds.
Targets: ≤ 60 s on PostgreSQL, ≤ 90 s on SQLite, ≤ 300 MB peak.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.bench import import_bench as ib
from scripts.harness import WORK, machine, python_module
from scripts.harness.expansion import run_stages, stage

TARGETS = {"postgresql": 60, "sqlite": 90}
TARGET_MB = 300


def child_baseline(rows: int, budget: float) -> None:
    """Naive: every contact through the ORM, one Message object each, one commit."""
    from sqlalchemy import select

    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.models import Campaign, Contact, ListMember, Message

    app = create_app()
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).order_by(Campaign.id.desc()))
        started = time.perf_counter()
        done = 0
        stmt = select(Contact).join(ListMember, ListMember.contact_id == Contact.id)
        for contact in db.session.scalars(stmt.limit(rows)):
            if time.perf_counter() - started > budget:
                break
            # Channel "push" so the rows do not collide with the expansion's; rolled back below.
            db.session.add(Message(campaign_id=campaign.id, channel="push",
                                   recipient_id=contact.id, address=contact.msisdn,
                                   operator=contact.operator, status="queued"))
            done += 1
        db.session.flush()
        db.session.rollback()
        print(json.dumps({"rows": done, "seconds": round(time.perf_counter() - started, 2)}))


def bench_backend(backend: str, csv_path: Path, args: argparse.Namespace,
                  redis_url: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"loa-expand-{backend}-", dir=WORK))
    url, cleanup = ib.fresh_database(backend, folder)
    try:
        me = python_module("scripts.bench.expand_bench", "--child")
        runs = run_stages(url, redis_url, folder, [
            ("import", python_module("flask", "contacts", "import", str(csv_path),
                                     "--list", "bench")),
            ("prepare", stage("prepare")),
            ("expand", stage("expand"))], timeout=args.timeout)
        if "error" in runs:
            return {"backend": backend, "error": runs["error"]}
        run, result, prepared = runs["expand"], runs["expand"]["json"], runs["prepare"]["json"]
        base = run_stages(url, redis_url, folder, [("baseline", [
            *me, "baseline", str(args.baseline_rows), str(args.baseline_budget)])],
            timeout=args.timeout)
        baseline = base["baseline"].get("json") or {"error": base.get("error")}
        per_row = baseline.get("seconds", 0) / max(baseline.get("rows", 1), 1)
        return {
            "backend": backend,
            "rows": result["rows"],
            "seconds": round(run["seconds"], 1),
            "job_seconds": result["job_seconds"],
            "peak_mb": run["peak_mb"],
            "rows_per_second": round(result["rows"] / max(result["job_seconds"], 0.001)),
            "target_seconds": TARGETS[backend],
            "meets_target": run["seconds"] <= TARGETS[backend] and run["peak_mb"] <= TARGET_MB,
            # Submission freezes the audience (campaign_members) inside the request.
            "submit_seconds": prepared.get("submit_seconds"),
            "launch_seconds": prepared.get("launch_seconds"),
            "prepare_peak_mb": runs["prepare"]["peak_mb"],
            "baseline_rows": baseline.get("rows"),
            "baseline_extrapolated_seconds": round(per_row * result["rows"], 1),
        }
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--baseline-budget", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        if kind == "baseline":
            child_baseline(int(rest[0]), float(rest[1]))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    # One embedded Redis for every child: the job enqueues its send batches for real.
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_dir = Path(tempfile.mkdtemp(prefix="loa-expand-redis-", dir=WORK))
    redis_url = ensure_embedded_redis(redis_dir)
    ib.REDIS["REDIS_URL"] = redis_url  # the setup child of fresh_database
    try:
        csv_path = ib.ensure_csv(args.rows)
        print(json.dumps({"machine": machine(), "rows": args.rows}))
        for backend in args.backends.split(","):
            print(json.dumps(bench_backend(backend, csv_path, args, redis_url)), flush=True)
    finally:
        stop_embedded_redis(redis_dir)


if __name__ == "__main__":
    main()
