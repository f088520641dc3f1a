"""The SMS pipeline end to end on PostgreSQL: queued rows → `flask smpp run` → receipts stored.

    .venv/bin/python scripts/bench/sms_pipeline.py [--messages 50000] [--window 50]

A fresh schema in the `test` database (TEST_DATABASE_URL, default the local one), an embedded
redis-server (or REDIS_URL), the stand-in SMSC as a process of its own (receipts on, sent right
after each submit_sm_resp, nothing recorded), and `flask smpp run --no-throttle` as the smpp
process: one account, one transceiver bind, the given window. N single-part rows of one campaign
are `queued` as the expand job leaves them; the clock starts when their send jobs are enqueued
and stops when every row is `delivered` (every submit_sm_resp and receipt stored and matched).
In the same run, against the same stand-in: the transport alone (`gateways.smpp.Session`,
receipts counted, nothing stored) and a bare smpplib loop (scripts/bench/smpp_throughput.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import smpp_throughput as transport  # noqa: E402
import sqlalchemy as sa  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEXT = transport.TEXT


def pg_schema() -> tuple[str, Any]:
    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    if "+" not in base:
        base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"loa_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def start_standin(receipt_delay: float) -> tuple[subprocess.Popen[bytes], int, int]:
    """The stand-in as a process of its own (as in smpp_throughput.py), receipts after a delay."""
    port, control = transport.free_port(), transport.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.smsc", "--port", str(port), "--control-port",
         str(control), "--receipt-delay", str(receipt_delay), "--no-record",
         "--account", "bench:bench"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port, control
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("stand-in did not start")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setup(app: Any, port: int, n: int, window: int,
          args_history: int) -> tuple[Any, Any, list[int]]:
    """Tables, an account on the stand-in, a sending campaign and n queued rows."""
    from dispatch import smpp_accounts, users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message, MessageStatus
    from dispatch.models.common import utcnow
    from dispatch.seed import seed_defaults

    db.create_all()
    seed_defaults()
    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password="x" * 12)
    account = smpp_accounts.create(
        {"name": "bench", "host": "127.0.0.1", "port": port, "system_id": "bench",
         "password": "bench", "tps": 10_000, "window": window, "binds": 1,
         "is_default": True, "brandnames": ["LOA"]}, actor=None)
    c = Campaign(title="bench", channels="sms", sms_text=TEXT, sms_sender="LOA",
                 status=CampaignStatus.SENDING, launched_at=utcnow(), created_by_id=editor.id,
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
        conn.execute(sa.text("ANALYZE"))


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


def pipeline(args: argparse.Namespace, port: int, folder: Path) -> dict[str, Any]:
    from dispatch import create_app
    from dispatch.engine import enqueue
    from dispatch.engine.smpp import status
    from dispatch.extensions import db
    from dispatch.models import MessagePart, RawReceipt
    from dispatch.redis_conn import ensure_embedded_redis, get_redis

    url, drop = pg_schema()
    redis_url = os.environ.get("REDIS_URL") or ensure_embedded_redis(folder / "instance")
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(instance)})
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, LOA_INSTANCE_PATH=str(instance),
               FLASK_APP="dispatch:create_app", PYTHONPATH=str(ROOT))
    log = open(folder / "smpp.log", "wb")  # noqa: SIM115
    proc: subprocess.Popen[bytes] | None = None
    try:
        with app.app_context():
            redis = get_redis()
            redis.flushdb()
            c, account, ids = setup(app, port, args.messages, args.window, args.history)
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "smpp", "run", "--no-throttle", "--poll", "5"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 30
            while not any(r["state"] == "bound" for r in status.read(redis)):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"the smpp process did not bind; see {folder}/smpp.log")
                time.sleep(0.1)
            cpu_before = cpu_seconds(proc.pid)
            start = time.perf_counter()
            jobs = enqueue.enqueue_sms(c, account.id, ids)
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
            cpu = cpu_seconds(proc.pid) - cpu_before
            if not done_at:
                raise SystemExit(f"not done after {args.timeout} s: {last}")
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            # This campaign's: the earlier campaign's history is left out.
            parts = db.session.scalar(sa.select(sa.func.count()).select_from(MessagePart)
                                      .where(MessagePart.message_id.between(ids[0], ids[-1])))
            matched = db.session.scalar(
                sa.select(sa.func.count()).select_from(RawReceipt)
                .join(MessagePart, MessagePart.id == RawReceipt.part_id)
                .where(MessagePart.message_id.between(ids[0], ids[-1])))
            return {"jobs": jobs, "submit": args.messages / (submitted_at - start),
                    "end_to_end": args.messages / (done_at - start), "seconds": done_at - start,
                    "cpu": cpu, "parts": parts, "matched": matched, "exit": code}
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        log.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--receipt-delay", type=float, default=0.0,
                        help="seconds from submit_sm_resp to its receipt at the stand-in")
    parser.add_argument("--history", type=int, default=20_000,
                        help="delivered messages of an earlier campaign (0: a bare schema)")
    args = parser.parse_args()
    from import_bench import machine

    info = machine()
    print(f"machine: {info['cpu']}, {info['nproc']} CPUs, {info['ram_gb']} GB, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    standin, port, control = start_standin(args.receipt_delay)
    try:
        with tempfile.TemporaryDirectory(prefix="loa-sms-bench-") as tmp:
            ours = pipeline(args, port, Path(tmp))
        n = min(args.messages, 20_000)
        session = transport.session_run(port, n, args.window)
        bare = transport.bare_smpplib(port, n, args.window)
        stats = transport.standin_stats(control)
    finally:
        standin.terminate()
        standin.wait(10)
    print(f"{args.messages} single-part messages, one transceiver bind, window {args.window}, "
          f"throttle off, receipts on, PostgreSQL")
    print(f"  smpp process, queued → every receipt in the ledger: {ours['end_to_end']:,.0f} msg/s "
          f"({ours['seconds']:.1f} s, {ours['jobs']} jobs, {ours['cpu']:.1f} CPU-s in the "
          f"smpp process)")
    print(f"  smpp process, queued → every submit_sm_resp in the ledger: {ours['submit']:,.0f} "
          f"submit/s")
    print(f"  transport alone (Session, nothing stored, {n} msgs): {session[0]:,.0f} submit/s, "
          f"{session[1]:,.0f} with receipts")
    print(f"  bare smpplib loop ({n} msgs): {bare[0]:,.0f} submit/s, {bare[1]:,.0f} with receipts")
    print(f"  end to end / bare smpplib: {ours['end_to_end'] / bare[1]:.2f}")
    print(f"  check: {ours['parts']} parts, {ours['matched']} receipts matched, smpp exit "
          f"{ours['exit']}; stand-in: {stats.get('submits')} submit_sm, "
          f"{stats.get('receipts_acked')} receipts acknowledged")


if __name__ == "__main__":
    main()
