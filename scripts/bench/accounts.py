"""Several accounts at once in one smpp process, each at its allowance, and the CPU it all costs.

    .venv/bin/python -m scripts.bench.accounts [--seconds 180] [--tps 300,200,200,100]
    .venv/bin/python -m scripts.bench.accounts --variant before     (the old 5 / 20 ms batches)

A fresh schema in the `test` database (TEST_DATABASE_URL, default the local one), an embedded
redis-server, the stand-in SMSC as a process of its own policing each account's TPS per
wall-clock second (0x58 past it) and sending each receipt `--receipt-delay` after its
submit_sm_resp, nothing recorded. Loa as the Procfile runs it, minus the web: one
`flask smpp run` (throttled: each account's RedisThrottle at its TPS, `per_second` pacing), one
`flask worker` and one `flask clock`. One sending campaign, its `queued` rows routed to the
accounts (more than `--seconds` of each TPS), the campaign paused until the clock starts.

Measured over `--seconds` from the moment the campaign is set sending: each account's accepted
submits per whole second at the stand-in (the mean over the seconds after the first 5, its
share of the TPS, the worst second), and the CPU (user + system, from /proc) of the smpp
process, the worker, the clock and the PostgreSQL backends serving them (found by their
`application_name` every 0.5 s, each counted from its first sight or its start to its last
sight: `BackendCpu`), per accepted submit; Redis's CPU beside it. Then the processes are
stopped (SIGTERM: the windows drain) and the ledger is checked: no row left `sending`, every
part stored once (the stand-in counts repeated sends: same number and text).

`--variant before` sets LOA_SMPP_RECORD_GATHER_MS=5 and LOA_SMPP_RECEIPT_GATHER_MS=20, the
batches as they were before they were gathered by time (the baseline of the same machine);
`--variant nogap` sets LOA_SMPP_RECEIPT_GAP_MS=0 (receipt batches end by time and count only).
`--per-second FILE` writes each account's steady seconds (where a shortfall goes);
`--profile FILE` samples the smpp process with py-spy (`--gil`: on-CPU Python only) for half
the run, raw stacks to FILE; the run's CPU and rates are then not comparable to others.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.harness import (
    BackendCpu,
    PgSchema,
    Proc,
    Redis,
    code_version,
    http_json,
    loa_env,
    machine,
    proc_cpu_seconds,
    python_module,
)
from scripts.harness.standins import start_smsc

TEXT = "Thong bao: lich tiem chung tai tram y te xa vao thu Bay"  # one GSM-7 part
VARIANTS = {"gathered": {}, "before": {"LOA_SMPP_RECORD_GATHER_MS": "5",
                                       "LOA_SMPP_RECEIPT_GATHER_MS": "20"},
            "nogap": {"LOA_SMPP_RECEIPT_GAP_MS": "0"}}


def setup(port: int, tps: list[int], rows_each: list[int], window: int) -> tuple[int, list[int]]:
    """Tables, one account per TPS on the stand-in, a paused campaign with its rows; returns
    (campaign id, account ids)."""
    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
    from dispatch.models.common import utcnow
    from dispatch.seed import seed_defaults
    from dispatch.sms import accounts as smpp_accounts

    db.create_all()
    seed_defaults()
    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
    ids = []
    for number, rate in enumerate(tps):
        name = f"acct{number}"
        account = smpp_accounts.create(
            {"name": name, "host": "127.0.0.1", "port": port, "system_id": name,
             "password": name, "tps": rate, "window": window, "binds": 1,
             "pacing": "per_second", "is_default": number == 0, "brandnames": ["LOA"]},
            actor=None)
        ids.append(account.id)
    c = Campaign(title="accounts", channels="sms", sms_text=TEXT, sms_sender="LOA",
                 status=CampaignStatus.PAUSED, launched_at=utcnow(), created_by_id=editor.id,
                 window_start=clock_time(0, 0), window_end=clock_time(23, 59, 59, 999999))
    db.session.add(c)
    db.session.commit()
    now = utcnow()
    table = Message.__table__
    recipient = 0
    for account_id, n in zip(ids, rows_each, strict=True):
        for start in range(0, n, 10_000):
            batch = range(recipient + start, recipient + min(n, start + 10_000))
            db.session.execute(sa.insert(table), [
                {"campaign_id": c.id, "channel": "sms", "recipient_id": i,
                 "address": f"+8491{i:07d}", "status": MessageStatus.QUEUED.value,
                 "queued_at": now, "account_id": account_id, "operator": "viettel",
                 "parts": 1, "attempts": 0, "created_at": now} for i in batch])
        recipient += n
    db.session.commit()
    history(ids[0], editor.id, 20_000)
    return c.id, ids


def history(account_id: int, user_id: int, rows: int) -> None:
    """An earlier, delivered campaign of `rows` messages, then ANALYZE: a database in use (a
    schema this fresh has no statistics, and PostgreSQL plans some lookups as scans)."""
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus

    earlier = Campaign(title="earlier", channels="sms", sms_text=TEXT, sms_sender="LOA",
                       status=CampaignStatus.COMPLETED, created_by_id=user_id)
    db.session.add(earlier)
    db.session.flush()
    conn = db.session.connection()
    conn.execute(sa.text(
        "INSERT INTO messages (campaign_id, channel, recipient_id, address, status, "
        "account_id, parts, attempts, created_at) SELECT :c, 'sms', g, "
        "'+8492' || lpad(g::text, 7, '0'), 'delivered', :a, 1, 1, now() "
        "FROM generate_series(1, :n) g"), {"c": earlier.id, "a": account_id, "n": rows})
    conn.execute(sa.text(
        "INSERT INTO message_parts (message_id, part_no, account_id, smsc_id, status, "
        "submitted_at, receipt_at) SELECT id, 1, :a, 'h' || id, 'delivered', now(), now() "
        "FROM messages WHERE campaign_id = :c"), {"a": account_id, "c": earlier.id})
    conn.execute(sa.text(
        "INSERT INTO raw_receipts (account_id, smsc_id, stat, err, body, received_at, "
        "part_id) SELECT :a, smsc_id, 'DELIVRD', '000', '', now(), id FROM message_parts"),
        {"a": account_id})
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as analyze:
        analyze.execute(sa.text("ANALYZE"))


def database_commits(url: str) -> int:
    """Transactions committed in the database so far, by every client (under the bench lock,
    this run's, give or take what the statistics collector has not been told yet)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")))
    finally:
        engine.dispose()


def ledger_counts(campaign_id: int) -> dict[str, int]:
    from dispatch.extensions import db
    from dispatch.models import Message

    db.session.rollback()
    return {status.value: count for status, count in db.session.execute(
        sa.select(Message.status, sa.func.count()).where(Message.campaign_id == campaign_id)
        .group_by(Message.status))}


def run(*, tps: list[int], seconds: float, window: int, receipt_delay: float,
        variant: str, folder: Path, profile: Path | None = None,
        per_second_to: Path | None = None, count_statements: bool = False) -> dict[str, Any]:
    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message, MessagePart
    from dispatch.sms import status

    names = [f"acct{n}" for n in range(len(tps))]
    args: list[str] = ["--receipt-delay", str(receipt_delay), "--no-record"]
    for name, rate in zip(names, tps, strict=True):
        args += ["--account", f"{name}:{name}", "--policy", f"{name}:tps={rate},policing=second"]
    smsc, port, control = start_smsc(*args, account=(names[0], names[0]), name="stand-in")
    redis = Redis(folder / "redis").start()
    schema = PgSchema("loa_bench")
    label = f"loa-accounts-{os.getpid()}"
    url = f"{schema.url}&application_name={label}"
    instance = folder / "instance"
    instance.mkdir()
    env = loa_env(url, redis.url, instance, **VARIANTS[variant])
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis.url,
                      "INSTANCE_PATH": str(instance)})

    def flask(name: str, *args: str) -> Proc:
        argv = (python_module("scripts.bench.sql_counts", str(folder / f"{name}.sql.json"),
                              "flask", *args)
                if count_statements else python_module("flask", *args))
        return Proc(name, argv, env, folder / f"{name}.log")

    procs = {"smpp": flask("smpp", "smpp", "run", "--poll", "5"),
             "worker": flask("worker", "worker"), "clock": flask("clock", "clock")}
    rows_each = [int(rate * (seconds + 30)) for rate in tps]
    try:
        with app.app_context():
            campaign_id, account_ids = setup(port, tps, rows_each, window)
            for proc in procs.values():
                proc.start()
            client = status_client(redis.url)
            deadline = time.monotonic() + 60
            while sum(r["state"] == "bound" for r in status.read(client)) < len(tps):
                if time.monotonic() > deadline:
                    raise SystemExit(f"the accounts did not bind; see {folder}/smpp.log")
                time.sleep(0.2)
            http_json(f"http://127.0.0.1:{control}/reset", {})
            pids = {name: proc.pid for name, proc in procs.items()}
            cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items() if pid}
            redis0 = proc_cpu_seconds(redis.proc.pid or 0)
            pg = BackendCpu(url, label).start()
            commits0 = database_commits(schema.url)
            sql0 = sql_counts(folder, procs) if count_statements else {}
            load0 = os.getloadavg()
            started = time.time()
            db.session.execute(sa.update(Campaign).where(Campaign.id == campaign_id)
                               .values(status=CampaignStatus.SENDING))
            db.session.commit()
            from dispatch.engine import enqueue
            enqueue.wake_sms(account_ids)
            spy = None
            if profile is not None and pids["smpp"]:
                # After the start, for half the run: the steady state, sampled at 100 Hz.
                time.sleep(min(10.0, seconds / 4))
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                     str(pids["smpp"]), "--duration", str(int(seconds / 2)), "--rate", "100",
                     "--format", "raw", "--output", str(profile), "--nonblocking", "--gil"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(max(0.0, started + seconds - time.time()))
            if spy is not None:
                spy.wait(30)
            ended = time.time()
            cpu = {name: proc_cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()
                   if pid}
            redis_cpu = proc_cpu_seconds(redis.proc.pid or 0) - redis0
            pg_cpu = pg.stop()
            commits = database_commits(schema.url) - commits0
            sql_rates = (sql_per_second(sql0, sql_counts(folder, procs), ended - started)
                         if count_statements else None)
            load1 = os.getloadavg()
            per_account = []
            seconds_of: dict[str, list[int]] = {}
            accepted_total = 0
            for name, rate in zip(names, tps, strict=True):
                per_second = {int(k): v for k, v in http_json(
                    f"http://127.0.0.1:{control}/per-second?account={name}&accepted=1").items()}
                accepted_total += sum(v for k, v in per_second.items()
                                      if started <= k < ended)
                steady = [per_second.get(s, 0) for s in range(int(started) + 6, int(ended) - 1)]
                seconds_of[name] = steady
                mean = sum(steady) / len(steady) if steady else 0.0
                per_account.append({"account": name, "tps": rate, "rate": round(mean, 1),
                                    "share": round(mean / rate, 3),
                                    "worst_second": min(steady, default=0),
                                    "busiest_second": max(steady, default=0)})
            if per_second_to is not None:
                per_second_to.write_text(json.dumps(seconds_of))
            stats = http_json(f"http://127.0.0.1:{control}/stats")
            stopped = {name: proc.stop() for name, proc in procs.items()}
            counts = ledger_counts(campaign_id)
            ours = sa.select(Message.id).where(Message.campaign_id == campaign_id)
            parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart)
                                      .where(MessagePart.message_id.in_(ours)))
            distinct = db.session.scalar(sa.select(sa.func.count(sa.distinct(
                MessagePart.message_id))).where(MessagePart.message_id.in_(ours)))
            loa = sum(cpu.values()) + pg_cpu
            return {
                "variant": variant, "seconds": round(ended - started, 1), "window": window,
                "receipt_delay": receipt_delay, "accounts": per_account,
                "accepted": accepted_total,
                "cpu_seconds": {**{k: round(v, 2) for k, v in cpu.items()},
                                "postgres": round(pg_cpu, 2), "redis": round(redis_cpu, 2)},
                "cpu_ms_per_message": round(loa / accepted_total * 1000, 3)
                if accepted_total else None,
                "cpu_ms_per_message_with_redis": round(
                    (loa + redis_cpu) / accepted_total * 1000, 3) if accepted_total else None,
                "pg_backends": pg.backends, "pg_commits": commits,
                "pg_commits_per_second": round(commits / (ended - started), 1),
                "ledger": counts, "parts": parts,
                "messages_with_parts": distinct, "repeats": stats.get("repeats", 0),
                "refused_0x58": stats.get("refused_0x58", 0),
                "receipts_acked": stats.get("receipts_acked", 0),
                "exit": stopped,
                "load": [round(x, 2) for x in (*load0[:1], *load1[:1])],
                **({"sql_per_second": sql_rates} if sql_rates is not None else {}),
            }
    finally:
        for proc in procs.values():
            if proc.popen is not None and proc.popen.poll() is None:
                proc.kill()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        schema.drop()
        redis.kill()
        smsc.stop()


def sql_counts(folder: Path, procs: dict[str, Proc]) -> dict[str, dict[str, Any]]:
    """What each process's scripts.bench.sql_counts wrote last (every second)."""
    return {name: json.loads((folder / f"{name}.sql.json").read_text(encoding="utf-8"))
            for name in procs if (folder / f"{name}.sql.json").exists()}


def sql_per_second(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]],
                   seconds: float) -> dict[str, dict[str, float]]:
    """Per process: commits, and commits and checkouts per call site, per second of the run."""
    rates: dict[str, dict[str, float]] = {}
    for name, last in after.items():
        first = before.get(name, {})
        counts = {"commits": last["commits"] - first.get("commits", 0)}
        for key, n in last.get("sites", {}).items():
            counts[key] = n - first.get("sites", {}).get(key, 0)
        rates[name] = {key: round(n / seconds, 1)
                       for key, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n}
    return rates


def status_client(url: str) -> Any:
    import redis as redis_lib
    return redis_lib.Redis.from_url(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tps", default="300,200,200,100",
                        help="each account's TPS (and the stand-in's allowance for it)")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--receipt-delay", type=float, default=1.0)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="gathered")
    parser.add_argument("--profile", type=Path, help="py-spy the smpp process for half the run "
                        "(raw stacks to this file; its CPU figures are then not the run's)")
    parser.add_argument("--per-second", type=Path,
                        help="write each account's accepted submits per steady second here")
    parser.add_argument("--count-statements", action="store_true",
                        help="run the Loa processes under scripts.bench.sql_counts and report "
                             "their commits and pool checkouts per call site (costs them CPU)")
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="loa-accounts-") as tmp:
        figures = run(tps=[int(x) for x in args.tps.split(",")], seconds=args.seconds,
                      window=args.window, receipt_delay=args.receipt_delay,
                      variant=args.variant, folder=Path(tmp), profile=args.profile,
                      per_second_to=args.per_second, count_statements=args.count_statements)
    figures["machine"] = {k: info[k] for k in ("cpu", "nproc", "ram_gb", "python")}
    figures["code"] = code_version()
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
