"""Benchmark: expand a personalised app_first campaign (SMS only to numbers without a verified
device), the target of issue 16.

    .venv/bin/python -m scripts.bench.strategy_bench [--rows 1000000] [--devices 100000]
        [--communes 10] [--plain] [--backends postgresql]

On a fresh database per backend: the import benchmark's CSV imported with `flask contacts
import`, then (scripts/harness/expansion.py, none of it timed) `--devices` app installations each
linked to one contact's number and verified, `--communes` communes under each district with the
contacts of a district moved into them. A campaign on both channels with the app_first strategy,
to the list and every app user, its SMS text personalised (`{ho_ten|ông/bà}` and `{xa}`, in
Vietnamese; `--plain` for the unpersonalised "Thong bao"), is created, submitted (freezing the
audience, marking the covered numbers and rendering every text for the exact cost: timed as
submit_seconds), approved and launched; the expand job then runs in a child of its own. Wall time
and peak RSS are that child's. Target: ≤ 90 s and ≤ 300 MB on PostgreSQL at 1,000,000.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from scripts.bench import import_bench as ib
from scripts.harness import WORK, code_version, machine
from scripts.harness.expansion import PERSONAL_TEXT, run_stages, stage

TARGET_SECONDS, TARGET_MB = 90, 300


def bench_backend(backend: str, csv_path: Path, args: argparse.Namespace,
                  redis_url: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"loa-strategy-{backend}-", dir=WORK))
    url, cleanup = ib.fresh_database(backend, folder)
    try:
        prepare = ["--channels", "both", "--strategy", "app_first", "--devices",
                   str(args.devices), "--communes", str(args.communes),
                   "--text", "Thong bao" if args.plain else PERSONAL_TEXT]
        runs = run_stages(url, redis_url, folder, [
            ("import", ib.python_module("flask", "contacts", "import", str(csv_path),
                                        "--list", "bench")),
            ("prepare", stage("prepare", *prepare)),
            ("expand", stage("expand"))], timeout=args.timeout)
        if "error" in runs:
            return {"backend": backend, "error": runs["error"]}
        run, result, prepared = runs["expand"], runs["expand"]["json"], runs["prepare"]["json"]
        return {
            "backend": backend, "rows": result["rows"], "seconds": round(run["seconds"], 1),
            "job_seconds": result["job_seconds"],
            "job_cpu_seconds": result.get("job_cpu_seconds"),
            "pg_cpu_seconds": result.get("pg_cpu_seconds"),
            "child_cpu_seconds": run.get("cpu_seconds"), "peak_mb": run["peak_mb"],
            "suppressed_app_covered": result["figures"].get("suppressed_app_covered"),
            "suppressed_missing_value": result["figures"].get("suppressed_missing_value"),
            "queued_sms": result["figures"].get("queued"),
            "queued_push": result["figures"].get("push_queued"),
            "meets_target": run["seconds"] <= TARGET_SECONDS and run["peak_mb"] <= TARGET_MB,
            "submit_seconds": prepared["submit_seconds"],
            "launch_seconds": prepared["launch_seconds"],
            "prepare_peak_mb": runs["prepare"]["peak_mb"], "personal": prepared["personal"],
            "strategy": prepared["strategy"],
        }
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--communes", type=int, default=10)
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--backends", default="postgresql")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_dir = Path(tempfile.mkdtemp(prefix="loa-strategy-redis-", dir=WORK))
    redis_url = ensure_embedded_redis(redis_dir)
    ib.REDIS["REDIS_URL"] = redis_url  # the setup child of fresh_database
    try:
        csv_path = ib.ensure_csv(args.rows)
        print(json.dumps({"machine": machine(), "code": code_version(), "rows": args.rows,
                          "devices": args.devices, "load": os.getloadavg()}), flush=True)
        for backend in args.backends.split(","):
            print(json.dumps(bench_backend(backend, csv_path, args, redis_url)), flush=True)
        print(json.dumps({"load_after": os.getloadavg()}))
    finally:
        stop_embedded_redis(redis_dir)


if __name__ == "__main__":
    main()
