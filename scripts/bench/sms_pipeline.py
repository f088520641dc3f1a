"""The SMS pipeline end to end on PostgreSQL: queued rows → `flask smpp run` → receipts stored.

    .venv/bin/python -m scripts.bench.sms_pipeline [--messages 50000] [--window 50]

A fresh schema in the `test` database (TEST_DATABASE_URL, default the local one), an embedded
redis-server (or REDIS_URL), the stand-in SMSC as a process of its own (receipts on, sent right
after each submit_sm_resp, nothing recorded), and `flask smpp run --no-throttle` as the smpp
process: one account, one transceiver bind, the given window. N single-part rows of one campaign
are `queued` as the expand job leaves them, the campaign paused; the clock starts when it is set
sending (and the smpp processes woken: they claim the rows from the ledger) and stops when every
row is `delivered` (every submit_sm_resp and receipt stored and matched).
In the same run, against the same stand-in: the transport alone (`gateways.smpp.Session`,
receipts counted, nothing stored) and a bare smpplib loop (scripts/bench/smpp_throughput.py),
the latter before and after the pipeline (the machine's load changes meanwhile).

`--processes 2` runs two smpp processes on the account (they share its rows, claimed with FOR
UPDATE SKIP LOCKED, and, with `--tps`, its throttle); the stand-in's count of repeated sends
(same number and text) checks that no row went out twice. `--profile FILE` samples the smpp
process with py-spy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.bench import smpp_throughput as transport
from scripts.harness import ROOT, PgSchema, analyze, machine, proc_cpu_seconds

TEXT = transport.TEXT


def start_standin(receipt_delay: float) -> tuple[Any, int, int]:
    """The stand-in as a process of its own (as in smpp_throughput.py), receipts after a delay."""
    return transport.start_standin(receipt_delay)


def profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the smpp process until the run ends (--profile; py-spy on PATH)."""
    if not args.profile:
        return None
    command = ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", "raw",
               "--output", args.profile, "--threads"]
    if args.profile_gil:
        command.append("--gil")  # only the thread holding the GIL: where the one core goes
    if args.profile_native:
        command.append("--native")  # C frames too (e.g. the garbage collector)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setup(app: Any, port: int, n: int, window: int, args_history: int,
          tps: int = 10_000) -> tuple[Any, Any, list[int]]:
    """Tables, an account on the stand-in, a sending campaign and n queued rows."""
    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
    from dispatch.models.common import utcnow
    from dispatch.seed import seed_defaults
    from dispatch.sms import accounts as smpp_accounts

    db.create_all()
    seed_defaults()
    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
    account = smpp_accounts.create(
        {"name": "bench", "host": "127.0.0.1", "port": port, "system_id": "bench",
         "password": "bench", "tps": tps, "window": window, "binds": 1,
         "is_default": True, "brandnames": ["LOA"]}, actor=None)
    c = Campaign(title="bench", channels="sms", sms_text=TEXT, sms_sender="LOA",
                 status=CampaignStatus.PAUSED, launched_at=utcnow(), created_by_id=editor.id,
                 window_start=clock_time(0, 0), window_end=clock_time(23, 59, 59, 999999))
    db.session.add(c)
    db.session.commit()
    now = utcnow()
    table = Message.__table__
    for start in range(0, n, 10_000):
        db.session.execute(sa.insert(table), [
            {"campaign_id": c.id, "channel": "sms", "recipient_id": i,
             "address": f"+8491{i % 10_000_000:07d}", "status": MessageStatus.QUEUED.value,
             "queued_at": now, "account_id": account.id, "operator": "viettel", "parts": 1,
             "attempts": 0, "created_at": now}
            for i in range(start, min(n, start + 10_000))])
    db.session.commit()
    ids = list(db.session.scalars(sa.select(Message.id).where(Message.campaign_id == c.id)
                                  .order_by(Message.id)))
    history(account.id, editor.id, args_history)
    return c, account, ids


def history(account_id: int, user_id: int, rows: int) -> None:
    """An earlier, delivered campaign of `rows` messages, then ANALYZE: a database in use.

    On a schema this fresh PostgreSQL has no statistics yet and plans some lookups as scans;
    autovacuum analyzes a live database within a minute of such growth.
    """
    from dispatch.extensions import db

    if rows:
        conn = db.session.connection()
        conn.execute(sa.text(
            "INSERT INTO campaigns (title, channels, sms_plain, push_data, audience, "
            "window_start, window_end, validity_hours, priority, cap_exempt, status, version, "
            "created_by_id, created_at, updated_at, expand_cursor, expansion) VALUES ('earlier', "
            "'sms', false, '{}', '{}', '00:00', '23:59', 24, 'normal', false, 'completed', 1, "
            ":user, now(), now(), '{}', '{}')"), {"user": user_id})
        conn.execute(sa.text(
            "INSERT INTO messages (campaign_id, channel, recipient_id, address, status, "
            "account_id, parts, attempts, created_at) SELECT (SELECT max(id) FROM campaigns), "
            "'sms', g, '+8492' || lpad(g::text, 7, '0'), 'delivered', :a, 1, 1, now() "
            "FROM generate_series(1, :n) g"), {"a": account_id, "n": rows})
        conn.execute(sa.text(
            "INSERT INTO message_parts (message_id, part_no, account_id, smsc_id, status, "
            "submitted_at, receipt_at) SELECT id, 1, :a, 'h' || id, 'delivered', now(), now() "
            "FROM messages WHERE status = 'delivered'"), {"a": account_id})
        conn.execute(sa.text(
            "INSERT INTO raw_receipts (account_id, smsc_id, stat, err, body, received_at, "
            "part_id) SELECT :a, smsc_id, 'DELIVRD', '000', '', now(), id FROM message_parts"),
            {"a": account_id})
        db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        analyze(conn)


def counts(campaign_id: int, statuses: tuple[str, ...] | None = None) -> dict[str, int]:
    """Rows per status (only `statuses`, when given: the poll reads only rows not final yet,
    so it costs the database little while the pipeline runs)."""
    from dispatch.extensions import db
    from dispatch.models import Message

    db.session.rollback()
    stmt = (sa.select(Message.status, sa.func.count())
            .where(Message.campaign_id == campaign_id).group_by(Message.status))
    if statuses is not None:
        stmt = stmt.where(Message.status.in_(statuses))
    return {status.value: count for status, count in db.session.execute(stmt)}


def standin_get(control: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{control}{path}") as response:
        return json.load(response)


def standin_reset(control: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{control}/reset", data=b"{}",
                                     method="POST")
    urllib.request.urlopen(request).close()


def pipeline(args: argparse.Namespace, port: int, control: int,
             folder: Path) -> dict[str, Any]:
    from dispatch import create_app
    from dispatch.engine import enqueue
    from dispatch.extensions import db
    from dispatch.jobs.redis_conn import ensure_embedded_redis, get_redis, stop_embedded_redis
    from dispatch.models import Campaign, CampaignStatus, MessagePart, RawReceipt
    from dispatch.sms import status

    schema = PgSchema("loa_bench")
    url, drop = schema.url, schema.drop
    redis_url = os.environ.get("REDIS_URL") or ensure_embedded_redis(folder / "instance")
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(instance)})
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, LOA_INSTANCE_PATH=str(instance),
               FLASK_APP="dispatch:create_app", PYTHONPATH=str(ROOT))
    log = open(folder / "smpp.log", "wb")  # noqa: SIM115
    procs: list[subprocess.Popen[bytes]] = []
    command = [sys.executable, "-m", "flask", "smpp", "run", "--poll", "5"]
    if not args.tps:
        command.append("--no-throttle")
    try:
        with app.app_context():
            redis = get_redis()
            redis.flushdb()
            c, account, ids = setup(app, port, args.messages, args.window, args.history,
                                    tps=args.tps or 10_000)
            procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT) for _ in range(args.processes)]
            deadline = time.monotonic() + 30
            while sum(r["state"] == "bound" for r in status.read(redis)) < args.processes:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit(f"the smpp processes did not bind; see {folder}/smpp.log")
                time.sleep(0.1)
            standin_reset(control)  # what follows is the pipeline's alone
            spy = profiler(args, procs[0].pid)
            cpu_before = sum(proc_cpu_seconds(p.pid) for p in procs)
            start = time.perf_counter()
            # Paused until now, so no row was claimed before the clock started.
            db.session.execute(sa.update(Campaign).where(Campaign.id == c.id)
                               .values(status=CampaignStatus.SENDING))
            db.session.commit()
            enqueue.wake_sms([account.id])
            submitted_at = done_at = 0.0
            last: dict[str, int] = {}
            while time.perf_counter() - start < args.timeout:
                last = counts(c.id, ("queued", "sending", "submitted"))
                now = time.perf_counter()
                if not submitted_at and not last.get("queued") and not last.get("sending"):
                    submitted_at = now
                if not last:
                    done_at = now
                    break
                time.sleep(0.25)
            last = counts(c.id)
            if last.get("delivered") != args.messages:
                raise SystemExit(f"not all delivered: {last}")
            cpu = sum(proc_cpu_seconds(p.pid) for p in procs) - cpu_before
            seen = standin_get(control, "/stats")
            seconds = standin_get(control, "/per-second?account=bench")
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            if not done_at:
                raise SystemExit(f"not done after {args.timeout} s: {last}")
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(60) for proc in procs]
            # This campaign's: the earlier campaign's history is left out.
            parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart)
                                      .where(MessagePart.message_id.between(ids[0], ids[-1])))
            matched = db.session.scalar(
                sa.select(sa.func.count()).select_from(RawReceipt)
                .join(MessagePart, MessagePart.id == RawReceipt.part_id)
                .where(MessagePart.message_id.between(ids[0], ids[-1])))
            return {"submit": args.messages / (submitted_at - start),
                    "end_to_end": args.messages / (done_at - start), "seconds": done_at - start,
                    "cpu": cpu, "parts": parts, "matched": matched, "exit": codes,
                    "submit_sm": seen.get("submits"), "repeats": seen.get("repeats", 0),
                    "busiest_second": max(seconds.values(), default=0)}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        log.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(folder / "instance")  # it would outlive the run otherwise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--processes", type=int, default=1,
                        help="`flask smpp run` processes on the one account (one bind each)")
    parser.add_argument("--tps", type=int, default=0,
                        help="the account's TPS, shared by the processes through Redis "
                        "(0: throttle off)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--receipt-delay", type=float, default=0.0,
                        help="seconds from submit_sm_resp to its receipt at the stand-in")
    parser.add_argument("--history", type=int, default=20_000,
                        help="delivered messages of an earlier campaign (0: a bare schema)")
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of the (first) smpp "
                        "process here (py-spy must be on PATH)")
    parser.add_argument("--profile-gil", action="store_true",
                        help="with --profile: sample only the thread holding the GIL")
    parser.add_argument("--profile-native", action="store_true",
                        help="with --profile: C frames too")
    args = parser.parse_args()
    info = machine()
    load = [os.getloadavg()[0]]
    print(f"machine: {info['cpu']}, {info['nproc']} CPUs, {info['ram_gb']} GB, "
          f"Python {platform.python_version()}; load average {load[0]:.1f}")
    standin, port, control = start_standin(args.receipt_delay)
    n = min(args.messages, 20_000)
    try:
        # The bare loop before and after: the machine is shared, its load changes meanwhile.
        bare = [transport.bare_smpplib(port, n, args.window)]
        with tempfile.TemporaryDirectory(prefix="loa-sms-bench-") as tmp:
            ours = pipeline(args, port, control, Path(tmp))
        load.append(os.getloadavg()[0])
        session = transport.session_run(port, n, args.window)
        bare.append(transport.bare_smpplib(port, n, args.window))
        load.append(os.getloadavg()[0])
    finally:
        standin.stop(10)
    throttle = f"TPS {args.tps} shared" if args.tps else "throttle off"
    print(f"{args.messages} single-part messages, {args.processes} smpp process(es), one "
          f"transceiver bind each, window {args.window}, {throttle}, receipts on, PostgreSQL")
    print(f"  smpp process, queued → every receipt in the ledger: {ours['end_to_end']:,.0f} msg/s "
          f"({ours['seconds']:.1f} s, {ours['cpu']:.1f} CPU-s in the "
          f"smpp process(es), {ours['cpu'] / args.messages * 1e6:.0f} µs per message)")
    print(f"  smpp process, queued → every submit_sm_resp in the ledger: {ours['submit']:,.0f} "
          f"submit/s")
    print(f"  transport alone (Session, nothing stored, {n} msgs): {session[0]:,.0f} submit/s, "
          f"{session[1]:,.0f} with receipts")
    for when, (submits, with_receipts) in zip(("before", "after"), bare, strict=True):
        print(f"  bare smpplib loop {when} ({n} msgs): {submits:,.0f} submit/s, "
              f"{with_receipts:,.0f} with receipts")
    reference = sum(b[1] for b in bare) / len(bare)
    print(f"  end to end / bare smpplib (mean of before and after): "
          f"{ours['end_to_end'] / reference:.2f}")
    print(f"  load average at start / after the pipeline / at the end: "
          f"{' / '.join(f'{x:.1f}' for x in load)}")
    print(f"  check: {ours['parts']} parts, {ours['matched']} receipts matched, smpp exit "
          f"{ours['exit']}; stand-in during the pipeline: {ours['submit_sm']} submit_sm, "
          f"{ours['repeats']} repeated (same number and text), busiest second "
          f"{ours['busiest_second']} submit_sm")


if __name__ == "__main__":
    main()
