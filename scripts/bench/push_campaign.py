"""Benchmark: a 70,000-device per-device push campaign through RQ workers, on PostgreSQL.

    .venv/bin/python -m scripts.bench.push_campaign [--devices 70000] [--workers 2]
                                                    [--kinds simple] [--latency-ms 0]
                                                    [--senders direct,threads]

One run, one FCM stand-in process (`python -m scripts.fcm serve`), one PostgreSQL schema
(TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test; dropped afterwards) and
one embedded redis-server:

1. baseline: this process calls `PushGateway.send_batch` with the SDK's send_each (sender
   "send_each") in a plain loop, 500 at a time, for as many devices — no database, no queue;
2. for each worker kind, a fresh campaign in `sending` with one `queued` ledger row per device
   (as expansion writes them); N worker processes are started and registered, then the send
   batches are enqueued (`enqueue_push`) and the clock runs until every row is `submitted`;
   with --expand, once more from launch: no rows, the expand job enqueued, the clock running
   until every row written by it is `submitted`.
   `simple`: RQ's SimpleWorker, what `flask worker` runs: one PushGateway for the life of the
   process; `fork`: RQ's default Worker, a work-horse per job, so a gateway (a token, new
   connections) per batch of 500 (kept for comparison; nothing runs it any more).
   Each worker run is repeated per --senders (LOA_FCM_SENDER, gateways.fcm.SENDERS): "direct"
   (the default), "threads", "send_each", "http2" (send_each_async, h2c to the stand-in).

Peak RSS per worker is the worker process's own (and, for `fork`, the largest work-horse's),
from getrusage at its exit. The stand-in's CPU is reported per phase (`standin_busy`: its share
of one core; it is a single thread). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from scripts.bench.fcm_bench import start_standin
from scripts.harness import ROOT, PgSchema, proc_cpu_seconds, python_module

TARGET_RATE, TARGET_MB, TARGET_CPU_MS = 1500, 250, 0.8


# --- the worker processes ---------------------------------------------------------------------

def worker_main(kind: str) -> int:
    """Run one RQ worker until SIGTERM; print its peak RSS (and its horses') as JSON."""
    from rq import SimpleWorker, Worker

    from dispatch import create_app
    from dispatch.jobs import QUEUES
    from dispatch.jobs.redis_conn import get_redis

    app = create_app()
    with app.app_context():
        cls = SimpleWorker if kind == "simple" else Worker
        worker = cls(list(QUEUES), connection=get_redis(app))
        level = os.environ.get("BENCH_WORKER_LOG", "WARNING")
        worker.work(with_scheduler=False, logging_level=level)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so it would report the
    # benchmark process this worker was forked from.
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    own, horses = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    print(json.dumps({
        "cpu_s": own.ru_utime + own.ru_stime + horses.ru_utime + horses.ru_stime,
        "self_mb": round(hwm_kb / 1024, 1),
        "horse_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }), flush=True)
    return 0


# --- the orchestration ------------------------------------------------------------------------

def _counters(endpoint: str, path: str = "counters", body: bytes | None = None) -> Any:
    request = urllib.request.Request(f"{endpoint}/_standin/{path}", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def baseline(devices: int, ready: dict[str, str]) -> dict[str, Any]:
    """One process, send_each in a plain loop: the reference the workers are compared with."""
    from gateways.fcm import PushContent, PushGateway, PushMessage, PushStatus

    content = PushContent(title="Thông báo khẩn",
                          body="Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
                          link="haugiang://tin/1", expires_at=datetime.now(UTC) + timedelta(1))
    with PushGateway(ready["service_account"], endpoint=ready["endpoint"],
                     pool_size=500, sender="send_each") as gateway:
        gateway.send_one("warm-up", content)
        sent = 0
        load = _loadavg()
        cpu = time.process_time()
        standin_cpu = proc_cpu_seconds(int(ready["pid"]))
        started = time.perf_counter()
        for start in range(0, devices, 500):
            batch = [PushMessage(str(i), f"bench-token-{i:07d}", content)
                     for i in range(start, min(start + 500, devices))]
            sent += sum(o.status is PushStatus.SENT for o in gateway.send_batch(batch))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        standin_cpu = proc_cpu_seconds(int(ready["pid"])) - standin_cpu
    return {"sent": sent, "seconds": round(elapsed, 2), "msg_per_s": round(devices / elapsed),
            "cpu_ms_per_msg": round(cpu / devices * 1000, 3),
            **_standin_share(standin_cpu, elapsed, devices),
            "loadavg_1min_before_after": [load, _loadavg()],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def seed(devices: int) -> None:
    """Write the devices once (70,000 installations of the app)."""
    from sqlalchemy import insert

    from dispatch.extensions import db
    from dispatch.models import Device

    now = datetime.now(UTC)
    for start in range(0, devices, 10_000):
        db.session.execute(insert(Device), [
            {"installation_id": f"bench-install-{i:07d}", "fcm_token": f"bench-token-{i:07d}",
             "platform": "android", "topics": ["all"], "last_seen_at": now, "created_at": now}
            for i in range(start, min(start + 10_000, devices))
        ])
    db.session.commit()


def make_campaign(title: str, *, rows: bool = True) -> tuple[Any, list[int]]:
    """A campaign in `sending`, with one queued row per device unless `rows` is False."""
    from sqlalchemy import select, text

    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message, User

    user = db.session.scalar(select(User).limit(1))
    if user is None:
        user = User(username="bench", full_name="Bench", password_hash="x", roles=["editor"])
        db.session.add(user)
        db.session.flush()
    c = Campaign(title=title, channels="push", push_title="Thông báo khẩn",
                 push_body="Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
                 push_link="haugiang://tin/1", audience={"all_app_users": True},
                 window_start=dtime(0, 0), window_end=dtime(23, 59, 59, 999999),
                 launched_at=datetime.now(UTC), status=CampaignStatus.SENDING,
                 push_mode="devices", created_by_id=user.id)
    db.session.add(c)
    db.session.commit()
    if not rows:
        return c, []
    db.session.execute(text(
        "INSERT INTO messages (campaign_id, channel, recipient_id, status, parts, attempts, "
        "created_at, queued_at) SELECT :c, 'push', id, 'queued', 1, 0, now(), now() "
        "FROM devices ORDER BY id"), {"c": c.id})
    db.session.commit()
    ids = list(db.session.scalars(select(Message.id).where(Message.campaign_id == c.id)
                                  .order_by(Message.id)))
    return c, ids


def _standin_share(cpu: float, elapsed: float, devices: int) -> dict[str, float]:
    """The stand-in's CPU over a phase: it is one thread, so `standin_busy` near 1.0 would
    mean it, not the client, sets the pace."""
    return {"standin_cpu_ms_per_msg": round(cpu / devices * 1000, 3),
            "standin_busy": round(cpu / elapsed, 2)}


def run_workers(kind: str, n: int, devices: int, env: dict[str, str], ready: dict[str, str],
                *, expand: bool = False, sender: str = "threads") -> dict[str, Any]:
    from rq import Worker

    from dispatch.jobs.redis_conn import get_redis

    c, ids = make_campaign(f"bench {kind} {sender}", rows=not expand)
    env = {**env, "LOA_FCM_SENDER": sender}
    endpoint = ready["endpoint"]
    before = _counters(endpoint)
    argv = python_module("scripts.bench.push_campaign", "worker", "--kind", kind)
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    try:
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=get_redis())) < n:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        return {"sender": sender,
                **_measure(c, ids, procs, devices, ready, before, kind, n, expand)}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()  # only after a failure: a finished run has stopped them already


def _measure(c: Any, ids: list[int], procs: list[subprocess.Popen[str]], devices: int,
             ready: dict[str, str], before: dict[str, Any], kind: str, n: int, expand: bool
             ) -> dict[str, Any]:
    from sqlalchemy import func, select

    from dispatch.engine import enqueue
    from dispatch.extensions import db
    from dispatch.models import Message, MessageStatus

    idle_cpu = [proc_cpu_seconds(p.pid) for p in procs]  # start-up: imports, create_app
    load = _loadavg()
    standin_cpu = proc_cpu_seconds(int(ready["pid"]))
    started = time.perf_counter()
    if expand:  # from launch: the expand job writes the rows and enqueues their batches
        enqueue.enqueue_expand(c.id, urgent=False)
        jobs = 0
    else:
        jobs = enqueue.enqueue_push(c, ids)
    done = 0
    count = (select(func.count()).select_from(Message)
             .where(Message.campaign_id == c.id, Message.status != MessageStatus.QUEUED,
                    Message.status != MessageStatus.SENDING))
    while done < devices:
        time.sleep(0.1)
        done = db.session.scalar(count) or 0
        db.session.commit()
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"only {done} of {devices} rows final after 600 s")
    elapsed = time.perf_counter() - started
    standin_cpu = proc_cpu_seconds(int(ready["pid"])) - standin_cpu
    for p in procs:
        p.send_signal(signal.SIGTERM)
    rss = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        rss.append(json.loads(out.strip().splitlines()[-1]))
    # From the start of the run; includes a forking worker's work-horses.
    cpu = [r.pop("cpu_s") - idle for r, idle in zip(rss, idle_cpu, strict=True)]
    by_status = dict(db.session.execute(
        select(Message.status, func.count()).where(Message.campaign_id == c.id)
        .group_by(Message.status)).all())
    after = _counters(ready["endpoint"])
    return {
        "kind": kind, "start": "expand job" if expand else "queued rows", "workers": n,
        "jobs": jobs, "seconds": round(elapsed, 2),
        "msg_per_s": round(devices / elapsed),
        "statuses": {s.value: k for s, k in by_status.items()},
        "fcm_requests": after["requests"] - before["requests"],
        "fcm_token_requests": after["token_requests"] - before["token_requests"],
        "fcm_connections": after["connections"] - before["connections"],
        "fcm_h2_connections": after["h2_connections"] - before["h2_connections"],
        "worker_cpu_s": [round(x, 1) for x in cpu],
        "cpu_ms_per_msg": round(sum(cpu) / devices * 1000, 3),
        **_standin_share(standin_cpu, elapsed, devices),
        "loadavg_1min_before_after": [load, _loadavg()],
        "peak_rss_mb": [max(r["self_mb"], r["horse_mb"]) for r in rss],
        "rss_detail": rss,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("--kind", choices=("simple", "fork"), default="simple")
    parser.add_argument("--devices", type=int, default=70_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default="simple", help="simple, fork or simple,fork")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--senders", default="direct",
                        help="workers' FCM_SENDER, comma-separated (gateways.fcm.SENDERS)")
    parser.add_argument("--expand", action="store_true",
                        help="also run from launch: simple workers, the expand job first")
    args = parser.parse_args()
    if args.command == "worker":
        return worker_main(args.kind)

    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    schema = PgSchema("loa_bench_push")
    tmp = Path(tempfile.mkdtemp(prefix="loa-push-bench-"))
    standin, ready = start_standin(tmp, args.latency_ms)
    redis_url = ensure_embedded_redis(tmp)
    env = dict(os.environ, DATABASE_URL=schema.url, REDIS_URL=redis_url,
               LOA_FCM_CREDENTIALS=ready["service_account"], LOA_FCM_ENDPOINT=ready["endpoint"],
               LOA_INSTANCE_PATH=str(tmp), PYTHONPATH=str(ROOT))
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "LOA_FCM_CREDENTIALS",
                                            "LOA_FCM_ENDPOINT", "LOA_INSTANCE_PATH")})
    result: dict[str, Any] = {"devices": args.devices, "latency_ms": args.latency_ms,
                              "nproc": os.cpu_count()}
    try:
        app = create_app()
        with app.app_context():
            db.create_all()
            seed(args.devices)
            result["baseline_send_each_loop"] = baseline(args.devices, ready)
            senders = [s for s in args.senders.split(",") if s]
            runs = [(kind, False, sender) for sender in senders
                    for kind in args.kinds.split(",") if kind]
            if args.expand:
                runs.append(("simple", True, senders[0]))
            for kind, expand, sender in runs:
                key = f"workers_{kind}_{sender}" + ("_from_expand" if expand else "")
                result[key] = run_workers(kind, args.workers, args.devices, env, ready,
                                          expand=expand, sender=sender)
                result[key]["ratio_to_baseline"] = round(
                    result[key]["msg_per_s"] / result["baseline_send_each_loop"]["msg_per_s"], 2)
            db.session.remove()
            db.engine.dispose()
        result["standin_cpu_s"] = round(proc_cpu_seconds(standin.pid), 1)
        result["targets"] = {"msg_per_s": TARGET_RATE, "peak_rss_mb_per_worker": TARGET_MB,
                             "cpu_ms_per_msg": TARGET_CPU_MS}
    finally:
        standin.stop(10)
        stop_embedded_redis(tmp)
        schema.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
