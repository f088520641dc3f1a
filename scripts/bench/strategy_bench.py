"""Benchmark: expand an app_first campaign (SMS only to numbers without a verified device).

    .venv/bin/python -m scripts.bench.strategy_bench [--rows 1000000] [--devices 100000]
        [--backends postgresql]

As scripts/bench/expand_bench.py (whose children and helpers this reuses): a fresh database,
the contacts imported with `flask contacts import` (not timed), then `--devices` app
installations, each linked to one contact's number and verified (not timed). A campaign on both
channels with the app_first strategy, to the list and every app user, is created, submitted
(which freezes the audience and marks the covered numbers: timed as submit_seconds), approved
and launched; the expand job then runs in a child of its own: SMS rows for every number (the
covered ones `suppressed` as app_covered) and a push row per device. Wall time and peak RSS are
that child's. Target: ≤ 90 s and ≤ 300 MB on PostgreSQL at 1,000,000 recipients.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.bench import expand_bench as eb
from scripts.bench import import_bench as ib
from scripts.harness import WORK, machine, python_module

TARGET_SECONDS, TARGET_MB = 90, 300


def child_prepare(devices: int) -> None:
    from datetime import time as dtime

    import sqlalchemy as sa

    from dispatch import create_app
    from dispatch.access import users
    from dispatch.campaigns import service
    from dispatch.extensions import db
    from dispatch.models import Contact, ContactList, Device
    from dispatch.models.common import utcnow
    from dispatch.sms import accounts as smpp_accounts

    app = create_app()
    with app.app_context():
        now = utcnow()
        numbers = list(db.session.scalars(sa.select(Contact.msisdn).order_by(Contact.id)
                                          .limit(devices)))
        for start in range(0, len(numbers), 10_000):
            db.session.execute(sa.insert(Device.__table__), [
                {"installation_id": f"bench-install-{start + i:07d}",
                 "fcm_token": f"bench-token-{start + i:07d}", "platform": "android",
                 "topics": [], "msisdn": number, "msisdn_verified_at": now,
                 "last_seen_at": now, "created_at": now}
                for i, number in enumerate(numbers[start:start + 10_000])])
        db.session.commit()
        lst = db.session.query(ContactList).filter_by(name="bench").one()
        smpp_accounts.create({"name": "all", "host": "127.0.0.1", "port": 2775,
                              "system_id": "x", "password": "x", "operators": [],
                              "is_default": True}, actor=None)
        editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
        approver, _ = users.create_user("bench-approver", ["approver"], actor=None,
                                        password=None)
        db.session.commit()
        c = service.create({
            "title": "bench", "channels": "both", "strategy": "app_first",
            "sms_sender": "HAUGIANG", "sms_text": "Thong bao", "push_title": "Thông báo",
            "push_body": "Lịch cắt điện", "audience": {"lists": [lst.id], "all_app_users": True},
            "window_start": dtime(0, 0), "window_end": dtime(23, 59)}, actor=editor)
        db.session.commit()
        started = time.perf_counter()
        service.submit(c, actor=editor)  # freezes members, marks the covered numbers
        db.session.commit()
        submitted = time.perf_counter() - started
        service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash)
        started = time.perf_counter()
        service.launch(c, actor=approver)
        db.session.commit()
        print(json.dumps({"campaign_id": c.id, "devices": len(numbers),
                          "submit_seconds": round(submitted, 2),
                          "launch_seconds": round(time.perf_counter() - started, 2),
                          "frozen": (c.frozen_reach or {}).get("strategy")}, default=str))


def bench_backend(backend: str, csv_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"loa-strategy-{backend}-", dir=WORK))
    url, cleanup = ib.fresh_database(backend, folder)
    try:
        imported = ib._run_child([], url, folder, timeout=args.timeout, command=[
            *python_module("flask"), "contacts", "import", str(csv_path), "--list", "bench"])
        if imported["exit"] != 0:
            return {"backend": backend, "error": imported["stderr"][-2000:]}
        me = python_module("scripts.bench.strategy_bench", "--child")
        prep = ib._run_child([], url, folder, timeout=args.timeout,
                             command=[*me, "prepare", str(args.devices)])
        if prep["exit"] != 0:
            return {"backend": backend, "error": prep["stderr"][-2000:]}
        run = ib._run_child([], url, folder, timeout=args.timeout, command=[*me, "expand"])
        if run["exit"] != 0:
            return {"backend": backend, "error": run["stderr"][-2000:]}
        result = json.loads(run["stdout"].strip().splitlines()[-1])
        prepared = json.loads(prep["stdout"].strip().splitlines()[-1])
        return {
            "backend": backend, "rows": result["rows"], "seconds": run["seconds"],
            "job_seconds": result["job_seconds"], "peak_mb": run["peak_mb"],
            "suppressed_app_covered": result["figures"].get("suppressed_app_covered"),
            "queued_sms": result["figures"].get("queued"),
            "queued_push": result["figures"].get("push_queued"),
            "meets_target": run["seconds"] <= TARGET_SECONDS and run["peak_mb"] <= TARGET_MB,
            "submit_seconds": prepared["submit_seconds"],
            "launch_seconds": prepared["launch_seconds"],
            "prepare_peak_mb": prep["peak_mb"], "frozen": prepared["frozen"],
        }
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--backends", default="postgresql")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        if kind == "prepare":
            child_prepare(int(rest[0]))
        elif kind == "expand":
            eb.child_expand()
        return
    WORK.mkdir(parents=True, exist_ok=True)
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_dir = Path(tempfile.mkdtemp(prefix="loa-strategy-redis-", dir=WORK))
    os.environ["REDIS_URL"] = ensure_embedded_redis(redis_dir)
    try:
        csv_path = ib.ensure_csv(args.rows)
        print(json.dumps({"machine": machine(), "rows": args.rows, "devices": args.devices}))
        for backend in args.backends.split(","):
            print(json.dumps(bench_backend(backend, csv_path, args)), flush=True)
    finally:
        stop_embedded_redis(redis_dir)


if __name__ == "__main__":
    main()
