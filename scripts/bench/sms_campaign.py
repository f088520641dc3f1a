"""A 100,000-recipient SMS campaign on PostgreSQL, from the launch call to the last receipt.

    .venv/bin/python -m scripts.bench.sms_campaign [--recipients 100000] [--window 50]

Setup, not timed: a new PostgreSQL database (CREATE DATABASE on TEST_DATABASE_URL's server,
`flask db upgrade` and `flask seed` as the Procfile's release step does; dropped at the end), an
embedded redis-server, and the stand-in SMSC as a process of its own (`python -m scripts.smsc
--no-record`, each receipt sent right after its submit_sm_resp). In the database: an SMPP
account on the stand-in with TPS 10,000 (the most an account may have: the throttle never
holds a submit back at these rates, but runs as in production), one transceiver bind, the given
window; N contacts bulk-inserted into one list; an earlier delivered campaign, then ANALYZE (a
database in use); and a campaign to that list, created, submitted and approved through the
services. Then the Procfile's processes, each a child of its own: `flask worker` x2, `flask smpp
run`, `flask clock`, waited for until the workers are registered and the bind is up.

Timed from the launch call (`campaigns.service.launch` and its commit, which enqueues the expand
job) until every row is final with its receipt stored: the expand job writes the ledger rows and
enqueues the send jobs (a worker), the smpp process claims, submits, records the responses and
stores and matches the receipts, and the clock completes the campaign. Reported: launch → first
submit_sm at the stand-in, launch → expansion done, msg/s end to end, CPU seconds and peak RSS
of every process (PostgreSQL backends of this database and the redis-server included), the
submit rate over time; the stand-in's `repeats` (duplicate sends, must be 0). PostgreSQL's
side, from launch until the Loa processes have exited: rows inserted, updated (HOT or not) and
deleted per table, scans per index, commits, WAL bytes per message (`PgCounters`); with
`--log-statements`, the statements each Loa process sent, per kind and table
(scripts.bench.sql_counts: it costs those processes CPU, so not for the rates).

Then, the Loa processes stopped, against the same stand-in process: the bare smpplib loop of
smpp_throughput.py sends the same N messages (same numbers, text and sender) on one bind with
the same window; the reference, and the ratio. As it repeats every message, the stand-in's
repeat counter must then read exactly N: the check that the counter counts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts import harness
from scripts.bench import smpp_throughput as transport
from scripts.harness import Proc
from scripts.harness.standins import start_smsc

TEXT = transport.TEXT
UNFINISHED = ("pending", "queued", "sending", "submitted")


# --- setup (not timed) --------------------------------------------------------------------------

def start_standin() -> tuple[Proc, int, int]:
    return start_smsc("--receipt-delay", "0", "--no-record", account=("bench", "bench"),
                      name="stand-in")


def prepare(recipients: int, port: int, window: int, history_rows: int) -> dict[str, Any]:
    """Account, contacts in a list, history, an approved campaign; in the app context."""
    from dispatch.access import users
    from dispatch.campaigns import service, submission
    from dispatch.extensions import db
    from dispatch.models import ContactList
    from dispatch.sms import accounts as smpp_accounts
    from scripts.bench.sms_pipeline import history

    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
    approver, _ = users.create_user("bench-approver", ["approver"], actor=None,
                                    password=None)
    account = smpp_accounts.create(
        {"name": "bench", "host": "127.0.0.1", "port": port, "system_id": "bench",
         "password": "bench", "tps": 10_000, "window": window, "binds": 1,
         "is_default": True, "brandnames": ["LOA"]}, actor=None)
    contacts = ContactList(name="bench", created_by_id=editor.id)
    db.session.add(contacts)
    db.session.commit()
    # The numbers smpp_throughput.destinations(n) sends to, with the + of E.164.
    conn = db.session.connection()
    conn.execute(sa.text(
        "INSERT INTO contacts (msisdn, operator, attributes, created_at, updated_at) "
        "SELECT '+8491' || lpad(g::text, 7, '0'), 'vinaphone', '{}', now(), now() "
        "FROM generate_series(0, :n - 1) AS g ORDER BY g"), {"n": recipients})
    conn.execute(sa.text("INSERT INTO list_members (list_id, contact_id) "
                         "SELECT :list, id FROM contacts"), {"list": contacts.id})
    db.session.commit()
    history(account.id, editor.id, history_rows)  # and ANALYZE
    c = service.create({"title": "bench", "channels": "sms", "sms_sender": "LOA",
                        "sms_text": TEXT, "audience": {"lists": [contacts.id]},
                        "window_start": clock_time(0, 0), "window_end": clock_time(23, 59)},
                       actor=editor)
    db.session.commit()
    service.submit(c, actor=editor)
    db.session.commit()
    submission.freeze(c.id)  # the job, here rather than on a worker
    db.session.refresh(c)
    service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
    db.session.commit()
    ids = {"campaign_id": c.id, "approver_id": approver.id, "account_id": account.id}
    db.session.rollback()  # reading the ids began a transaction: not left open meanwhile
    return ids


def start_loa(env: dict[str, str], folder: Path, workers: int,
              throttle: bool, count_statements: bool = False) -> list[Proc]:
    """The Procfile's processes (worker, smpp, clock), as a process manager starts them; with
    `count_statements`, each under scripts.bench.sql_counts (NAME.sql.json in `folder`)."""
    smpp = ["smpp", "run"] + ([] if throttle else ["--no-throttle"])
    commands = [(f"worker-{i}", ["worker"]) for i in range(1, workers + 1)]
    commands += [("smpp", smpp), ("clock", ["clock"])]

    def argv(name: str, args: list[str]) -> list[str]:
        if count_statements:
            out = str(folder / f"{name}.sql.json")
            return harness.python_module("scripts.bench.sql_counts", out, "flask", *args)
        return harness.python_module("flask", *args)

    return [Proc(name, argv(name, args), env=env, log=folder / f"{name}.log").start()
            for name, args in commands]


def wait_ready(children: list[Proc], workers: int) -> None:
    from rq import Worker

    from dispatch.jobs.redis_conn import get_redis
    from dispatch.sms import status

    redis = get_redis()

    def ready() -> bool:
        for child in children:
            if not child.alive:
                raise SystemExit(f"{child.name} exited:\n{child.tail()}")
        bound = any(row["state"] == "bound" for row in status.read(redis))
        return bound and len(Worker.all(connection=redis)) >= workers

    harness.wait_for(ready, 60, "workers registered and the bind up", interval=0.2)


# --- measuring --------------------------------------------------------------------------------

class Meters:
    """CPU of every process taking part, sampled while the campaign runs."""

    def __init__(self, children: list[Proc], database: str) -> None:
        from dispatch.jobs.redis_conn import get_redis

        self.children = children
        self.database = database
        self.redis = get_redis()
        self.start_cpu = {c.name: c.cpu_seconds() for c in children}
        self.redis_start = self._redis_cpu()
        # PostgreSQL backends of this database: CPU at first sight (0 for those that connect
        # later, which had used next to none before) and at the latest look.
        self.backends_first: dict[int, float] = {}
        self.backends_last: dict[int, float] = {}
        self.look(at_start=True)

    def _redis_cpu(self) -> float:
        info = self.redis.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def look(self, at_start: bool = False) -> None:
        from dispatch.extensions import db

        pids = db.session.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": self.database})
        db.session.rollback()
        for pid in pids:
            cpu = harness.proc_cpu_seconds(pid)
            self.backends_first.setdefault(pid, cpu if at_start else 0.0)
            self.backends_last[pid] = cpu

    def cpu(self) -> dict[str, float]:
        self.look()
        out = {c.name: round(c.cpu_seconds() - self.start_cpu[c.name], 1) for c in self.children}
        out["postgresql"] = round(sum(self.backends_last[p] - self.backends_first[p]
                                      for p in self.backends_last), 1)
        out["redis-server"] = round(self._redis_cpu() - self.redis_start, 1)
        return out

    def redis_peak_mb(self) -> float:
        return harness.proc_peak_mb(int(self.redis.info("server")["process_id"]))


class PgCounters:
    """PostgreSQL's side of the run, from its statistics views: rows inserted, updated (HOT or
    not) and deleted per table of this database (pg_stat_user_tables), scans per index
    (pg_stat_user_indexes), and WAL written (pg_stat_wal and the WAL position; the server's
    whole, so other databases' writes meanwhile count too: the run holds the benchmark lock,
    which tests share). Read on a connection of its own; the deltas are taken after the Loa
    processes have exited, when their backends have flushed their counts (a backend reports
    at most once a second while it runs)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.start = self.read()

    def read(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            tables = {name: {"ins": ins, "upd": upd, "hot": hot, "del": dele}
                      for name, ins, upd, hot, dele in conn.execute(sa.text(
                          "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del "
                          "FROM pg_stat_user_tables"))}
            indexes = dict(conn.execute(sa.text(
                "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes")).all())
            wal = conn.execute(sa.text(
                "SELECT wal_records, wal_fpi, wal_bytes, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') FROM pg_stat_wal")).one()
            commits = conn.scalar(sa.text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
        return {"tables": tables, "indexes": indexes, "commits": commits,
                "wal": {"records": wal[0], "fpi": wal[1], "bytes": int(wal[2]),
                        "lsn_bytes": int(wal[3])}}

    def delta(self, messages: int) -> dict[str, Any]:
        end = self.read()
        self.engine.dispose()
        tables = {}
        for name, now in end["tables"].items():
            was = self.start["tables"].get(name, {})
            moved = {k: v - was.get(k, 0) for k, v in now.items()}
            if any(moved.values()):
                tables[name] = moved
        indexes = {name: n - self.start["indexes"].get(name, 0)
                   for name, n in end["indexes"].items()
                   if n - self.start["indexes"].get(name, 0)}
        wal = {k: v - self.start["wal"][k] for k, v in end["wal"].items()}
        per = max(messages, 1)
        return {"tables": tables, "index_scans": indexes, "wal": wal,
                "commits": end["commits"] - self.start["commits"],
                "wal_bytes_per_message": round(wal["bytes"] / per),
                "wal_records_per_message": round(wal["records"] / per, 1)}


def collect_statements(folder: Path) -> dict[str, Any]:
    """The statement counts each Loa process wrote (--log-statements), summed per kind."""
    out: dict[str, Any] = {"per_process": {}, "statements": {}, "commits": 0}
    for path in sorted(folder.glob("*.sql.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out["per_process"][path.name.removesuffix(".sql.json")] = data
        out["commits"] += data["commits"]
        for name, n in data["statements"].items():
            out["statements"][name] = out["statements"].get(name, 0) + n
    return out


def stamp(moment: datetime | None, origin: float) -> float | None:
    return None if moment is None else round(moment.timestamp() - origin, 2)


# --- optional: where the smpp process spends its time (py-spy, not a project dependency) ---

AREAS = (("gateways/", "transport (gateways.smpp)"), ("dispatch/", "dispatch"),
         ("sqlalchemy/", "SQLAlchemy"), ("psycopg", "psycopg"), ("redis/", "redis-py"),
         ("rq/", "RQ"))


def start_profiler(py_spy: str, pid: int, out: Path) -> Proc:
    """Sample the thread holding the GIL (where the process's Python CPU goes), without
    pausing it."""
    return Proc("py-spy", [py_spy, "record", "--pid", str(pid), "--rate", "100",
                           "--nonblocking", "--gil", "--threads", "--format", "raw",
                           "--output", str(out)], log=out.with_suffix(".log")).start()


def summarise_profile(raw: Path) -> dict[str, Any]:
    """Shares of the samples per thread, per area of the innermost frame (whose code runs),
    and per innermost frame of Loa's own code (what it was doing: a throttle call, a ledger
    move)."""
    counts: dict[str, dict[str, int]] = {"threads": {}, "areas": {}, "loa": {}}
    total = 0

    def add(kind: str, key: str, n: int) -> None:
        counts[kind][key] = counts[kind].get(key, 0) + n

    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not line.startswith("thread (") or not count.isdigit():
            continue  # a sample read while the process changed it (--nonblocking): garbled
        frames = stack.split(";")
        n = int(count)
        total += n
        thread = frames[0].split(": ", 1)[-1]
        add("threads", thread, n)
        add("areas", next((name for key, name in AREAS if key in frames[-1]), "stdlib, other"), n)
        own = next((f for f in reversed(frames) if "dispatch/" in f or "gateways/" in f), None)
        if own is not None:
            add("loa", f"{thread}: {own.split(':')[0]})", n)

    def top(kind: str, k: int) -> list[tuple[str, float]]:
        ranked = sorted(counts[kind].items(), key=lambda kv: -kv[1])[:k]
        return [(name, round(100 * n / max(total, 1), 1)) for name, n in ranked]

    return {"samples": total, "threads": top("threads", 10), "areas": top("areas", 10),
            "loa": top("loa", 12)}


def run_campaign(args: argparse.Namespace, ids: dict[str, Any], children: list[Proc],
                 control: int, database: str) -> dict[str, Any]:
    from dispatch.campaigns import service
    from dispatch.extensions import db
    from dispatch.models import Campaign, User

    campaign_id = ids["campaign_id"]
    c = db.session.get_one(Campaign, campaign_id)
    approver = db.session.get_one(User, ids["approver_id"])
    meters = Meters(children, database)
    profiler = None
    if args.py_spy:
        smpp = next(child for child in children if child.name == "smpp")
        profiler = start_profiler(args.py_spy, smpp.pid, args.profile_out)
        time.sleep(1)  # attached before the launch
    before = transport.standin_stats(control)
    load = os.getloadavg()
    origin = time.time()
    started = time.perf_counter()
    service.launch(c, actor=approver)
    db.session.commit()
    launched = time.perf_counter() - started

    first_submit = done = None
    timeline: list[tuple[float, int, int]] = []  # (s, submit_sm so far, receipts acked so far)
    next_db_look = 0.0
    while True:
        now = time.perf_counter() - started
        if now > args.timeout:
            raise SystemExit(f"not done after {args.timeout} s: {unfinished(campaign_id)}")
        stats = transport.standin_stats(control)
        submits = stats.get("submits", 0) - before.get("submits", 0)
        if first_submit is None and submits:
            first_submit = now
        if not timeline or now - timeline[-1][0] >= 1.0:
            timeline.append((round(now, 2), submits,
                             stats.get("receipts_acked", 0) - before.get("receipts_acked", 0)))
        if now >= next_db_look:
            next_db_look = now + 0.5
            meters.look()
            for child in children:
                if not child.alive:
                    raise SystemExit(f"{child.name} exited:\n{child.tail()}")
            if expanded(campaign_id) and not unfinished(campaign_id):
                done = time.perf_counter() - started
                break
        time.sleep(0.02 if first_submit is None else 0.1)
    cpu = meters.cpu()
    if profiler is not None:
        profiler.stop(sig=signal.SIGINT)  # py-spy writes its samples on SIGINT
    peaks = {child.name: child.peak_mb() for child in children}
    peaks["redis-server"] = meters.redis_peak_mb()
    stats = transport.standin_stats(control)

    # When the campaign's last row became final, stamped by the process that stored it.
    row = db.session.execute(sa.text(
        "SELECT min(sending_at), max(finished_at), count(*) FILTER (WHERE status = 'delivered') "
        "FROM messages WHERE campaign_id = :c"), {"c": campaign_id}).one()
    db.session.rollback()
    c = db.session.get_one(Campaign, campaign_id)
    last_final = stamp(row[1], origin)
    completed = wait_completed(campaign_id, started, 30)
    return {
        "load_at_launch": [round(v, 2) for v in load], "launch_call_s": round(launched, 3),
        "first_submit_s": round(first_submit or 0, 2), "first_claim_s": stamp(row[0], origin),
        "expanded_s": stamp(c.expanded_at, origin), "expansion": dict(c.expansion or {}),
        "last_final_s": last_final, "seen_done_s": round(done or 0, 2),
        "completed_s": completed,
        "msg_per_s": round(args.recipients / last_final) if last_final else None,
        "delivered": row[2], "cpu_s": cpu, "peak_mb": peaks, "timeline": timeline,
        "standin": {k: stats.get(k, 0) - before.get(k, 0)
                    for k in ("submits", "accepted", "repeats", "receipts_acked")},
    }


def expanded(campaign_id: int) -> bool:
    from dispatch.extensions import db

    value = db.session.scalar(sa.text("SELECT expanded_at FROM campaigns WHERE id = :c"),
                              {"c": campaign_id})
    db.session.rollback()
    return value is not None


def unfinished(campaign_id: int) -> dict[str, int]:
    """Rows not final yet, per status (reads only those: cheap while the campaign runs)."""
    from dispatch.extensions import db

    rows = db.session.execute(sa.text(
        "SELECT status, count(*) FROM messages WHERE campaign_id = :c AND status = ANY(:s) "
        "GROUP BY status"), {"c": campaign_id, "s": list(UNFINISHED)}).all()
    db.session.rollback()
    return {status: n for status, n in rows}


def wait_completed(campaign_id: int, started: float, timeout: float) -> float | None:
    """Seconds from launch until the clock marked the campaign completed (None: not yet)."""
    from dispatch.extensions import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = db.session.scalar(sa.text("SELECT status FROM campaigns WHERE id = :c"),
                                  {"c": campaign_id})
        db.session.rollback()
        if state == "completed":
            return round(time.perf_counter() - started, 1)
        time.sleep(0.2)
    return None


def ledger_check(campaign_id: int) -> dict[str, Any]:
    from dispatch.extensions import db

    statuses: dict[str, int] = dict(db.session.execute(sa.text(
        "SELECT status, count(*) FROM messages WHERE campaign_id = :c GROUP BY status"),
        {"c": campaign_id}).all())
    parts, receipts = db.session.execute(sa.text(
        "SELECT count(DISTINCT p.id), count(r.id) FROM message_parts p "
        "JOIN messages m ON m.id = p.message_id LEFT JOIN raw_receipts r ON r.part_id = p.id "
        "WHERE m.campaign_id = :c"), {"c": campaign_id}).one()
    unmatched = db.session.scalar(sa.text(
        "SELECT count(*) FROM raw_receipts WHERE part_id IS NULL"))
    db.session.rollback()
    return {"statuses": statuses, "parts": parts, "receipts_matched": receipts,
            "receipts_unmatched": unmatched}


# --- the run -----------------------------------------------------------------------------------

def bench(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    result: dict[str, Any] = {"machine": harness.machine(), "code": harness.code_version(),
                              "recipients": args.recipients,
                              "window": args.window, "workers": args.workers,
                              "throttle": not args.no_throttle}
    instance = folder / "instance"
    redis_dir = folder / "redis"
    redis_url = ensure_embedded_redis(redis_dir)
    standin, port, control = start_standin()
    url, database, drop = harness.fresh_pg_database()
    env = harness.loa_env(url, redis_url, instance)
    children: list[Proc] = []
    try:
        for step in (["db", "upgrade"], ["seed"]):
            done = harness.run_child(harness.python_module("flask", *step), env=env, timeout=300)
            if done["exit"] != 0:
                raise SystemExit(f"flask {' '.join(step)} failed:\n{done['stderr'][-2000:]}")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                          "INSTANCE_PATH": str(instance)})
        with app.app_context():
            ids = prepare(args.recipients, port, args.window, args.history)
            children = start_loa(env, folder, args.workers, not args.no_throttle,
                                 args.log_statements)
            wait_ready(children, args.workers)
            # The setup's counts are reported by its backend when it exits (a backend in use
            # flushes them at most once a second): else they would land inside the run's.
            db.session.remove()
            db.engine.dispose()
            time.sleep(1)
            counters = PgCounters(url)
            result["campaign"] = run_campaign(args, ids, [*children, standin], control,
                                              database)
            result["ledger"] = ledger_check(ids["campaign_id"])
            if args.sizes:  # bytes per message of the ledger tables, the campaign sent
                from scripts.bench.scale_bench import sizes

                result["sizes"] = sizes(url)
            db.session.remove()
            db.engine.dispose()
        for child in children:
            child.stop()
        result["exits"] = {child.name: child.result for child in children}
        result["postgresql"] = counters.delta(args.recipients)
        if args.log_statements:
            result["statements"] = collect_statements(folder)
        # The reference, against the same stand-in process, the Loa processes gone.
        before = transport.standin_stats(control)
        started = time.perf_counter()
        submit_rate, receipt_rate = transport.bare_smpplib(port, args.recipients, args.window)
        after = transport.standin_stats(control)
        result["bare"] = {"submit_per_s": round(submit_rate), "msg_per_s": round(receipt_rate),
                          "seconds": round(time.perf_counter() - started, 1),
                          "repeats": after.get("repeats", 0) - before.get("repeats", 0),
                          "submits": after.get("submits", 0) - before.get("submits", 0)}
        result["standin_cpu_s_total"] = round(standin.cpu_seconds(), 1)
        result["load_after"] = [round(v, 2) for v in os.getloadavg()]
        e2e = result["campaign"]["msg_per_s"]
        result["ratio"] = round(e2e / result["bare"]["msg_per_s"], 2) if e2e else None
        return result
    finally:
        for child in children:
            child.stop(10)
        standin.stop(10)
        drop()
        stop_embedded_redis(redis_dir)


def report(r: dict[str, Any]) -> None:
    m, c, bare = r["machine"], r["campaign"], r["bare"]
    n = r["recipients"]
    print(f"machine: {m['cpu']}, {m['nproc']} CPUs, {m['ram_gb']} GB, Python {m['python']}; "
          f"load average at launch {' '.join(map(str, c['load_at_launch']))}, "
          f"after the run {' '.join(map(str, r['load_after']))}")
    print(f"code: {r['code']}")
    print(f"{n:,} single-part SMS, one transceiver bind, window {r['window']}, "
          f"{'TPS 10,000 (throttle running)' if r['throttle'] else 'no throttle'}, "
          f"receipts right after each response; {r['workers']} workers, smpp, clock")
    print(f"  launch → first submit_sm at the stand-in: {c['first_submit_s']:.2f} s "
          f"(first row claimed at {c['first_claim_s']} s)")
    print(f"  launch → expansion done: {c['expanded_s']} s  {c['expansion']}")
    print(f"  launch → last row final with its receipt: {c['last_final_s']} s "
          f"(seen by the poll at {c['seen_done_s']} s; campaign completed by the clock at "
          f"{c['completed_s']} s)")
    print(f"  end to end: {c['msg_per_s']:,} msg/s")
    print(f"  bare smpplib, same stand-in, same {n:,} messages: {bare['submit_per_s']:,} "
          f"submit/s, {bare['msg_per_s']:,} msg/s with every receipt answered "
          f"({bare['seconds']} s)")
    print(f"  end to end / bare smpplib: {r['ratio']}")
    print("  CPU seconds during the campaign, peak RSS MB:")
    for name, cpu in c["cpu_s"].items():
        peak = c["peak_mb"].get(name)
        share = cpu / c["last_final_s"] if c["last_final_s"] else 0
        print(f"    {name:<13}{cpu:>7.1f} s ({share:4.0%} of one core)"
              + (f"  peak {peak:.0f} MB" if peak else ""))
    rates = []
    timeline = c["timeline"]
    step = max(5, -(-len(timeline) // 20))  # about one-second samples, at most 20 spans
    for before, after in zip(timeline[::step], timeline[step::step], strict=False):
        span = after[0] - before[0]
        rates.append(f"{before[0]:.0f}-{after[0]:.0f}s {round((after[1] - before[1]) / span)}")
    print("  submit_sm/s at the stand-in: " + ", ".join(rates))
    ledger, sc = r["ledger"], c["standin"]
    print(f"  checks: ledger {ledger['statuses']}, {ledger['parts']} parts, "
          f"{ledger['receipts_matched']} receipts matched, {ledger['receipts_unmatched']} "
          f"unmatched; stand-in {sc['submits']} submit_sm, {sc['accepted']} accepted, "
          f"{sc['repeats']} repeats (duplicates), {sc['receipts_acked']} receipts acknowledged; "
          f"the bare loop's {bare['submits']} resends counted {bare['repeats']} repeats")
    if "profile" in r:
        prof = r["profile"]
        print(f"  smpp process, py-spy ({prof['samples']} samples of the GIL holder, %):")
        for key, title in (("threads", "thread"), ("areas", "code running"),
                           ("loa", "innermost Loa frame")):
            print(f"    by {title}: " + "; ".join(f"{name} {share}" for name, share
                                                   in prof[key]))
    pg = r["postgresql"]
    wal = pg["wal"]
    print(f"  PostgreSQL, launch to the Loa processes' exit: {pg['commits']:,} commits; WAL "
          f"{wal['bytes'] / 1e6:.0f} MB ({pg['wal_bytes_per_message']:,} B and "
          f"{pg['wal_records_per_message']} records per message, {wal['fpi']:,} full pages; "
          f"the server's whole)")
    print("  rows per table (inserted, updated of which HOT, deleted):")
    for name, t in sorted(pg["tables"].items(), key=lambda kv: -sum(kv[1].values())):
        print(f"    {name:<18}{t['ins']:>9,} ins {t['upd']:>9,} upd ({t['hot']:,} HOT) "
              f"{t['del']:>7,} del")
    print("  index scans: " + ", ".join(f"{name} {n:,}" for name, n in sorted(
        pg["index_scans"].items(), key=lambda kv: -kv[1])))
    if "statements" in r:
        st = r["statements"]
        print(f"  statements sent by the Loa processes ({st['commits']:,} commits; per "
              f"{n:,} messages):")
        for name, count in sorted(st["statements"].items(), key=lambda kv: -kv[1])[:20]:
            print(f"    {name:<36}{count:>8,}  {count / n:.3f} per message")
    exits = ", ".join(f"{name} {done['exit']}" for name, done in r["exits"].items())
    print(f"  exits: {exits}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=20_000,
                        help="delivered messages of an earlier campaign (0: none)")
    parser.add_argument("--sizes", action="store_true",
                        help="print each ledger table's size per message at the end "
                             "(use with --history 0)")
    parser.add_argument("--no-throttle", action="store_true",
                        help="run the smpp process with --no-throttle (no Redis throttle)")
    parser.add_argument("--log-statements", action="store_true",
                        help="count the SQL statements of each Loa process per kind "
                             "(scripts.bench.sql_counts; costs them CPU)")
    parser.add_argument("--py-spy", metavar="PATH",
                        help="a py-spy binary: sample the smpp process while the campaign runs")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds from launch before giving up")
    args = parser.parse_args()
    harness.WORK.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="loa-sms-campaign-", dir=harness.WORK))
    stamp_now = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    args.profile_out = harness.WORK / f"sms_campaign-{stamp_now}-smpp.pyspy"
    try:
        result = bench(args, folder)
    except BaseException:
        print(f"logs kept in {folder}", file=sys.stderr)
        raise
    if args.py_spy:
        result["profile"] = summarise_profile(args.profile_out)
    out = harness.WORK / f"sms_campaign-{stamp_now}.json"
    out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    report(result)
    if "sizes" in result:
        print(f"  sizes: {json.dumps(result['sizes'])}")
    print(f"  figures: {out}")
    shutil.rmtree(folder, ignore_errors=True)
    ok = (result["campaign"]["standin"]["repeats"] == 0
          and result["ledger"]["statuses"].get("delivered") == args.recipients)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
