"""Survey answers by SMS on PostgreSQL: MO from the SMSC → `flask smpp run` → replies counted.

    .venv/bin/python -m scripts.bench.mo_answers [--answers 100000] [--mt 0]

A fresh schema in the `test` database (TEST_DATABASE_URL, default the local one), an embedded
redis-server (or REDIS_URL), the stand-in SMSC as a process of its own and `flask smpp run` as
the smpp process (one account, one transceiver bind). Setup, not timed: a survey campaign that
asked "1, 2 or 3" and was delivered to N numbers (ledger rows written directly, as a finished
campaign leaves them), then ANALYZE. Timed: the stand-in sends one answer from each number as
fast as its bind takes them (`POST /mo` bursts; 10 % are long free-text answers in two
UDH-concatenated parts), and the clock stops when every answer is a row of `replies` attributed
to the campaign. The figures: answers per second, the smpp process's CPU per answer, and the
answers per choice against what was sent (exact, or the run fails).

`--mt M` sends an M-row SMS campaign on the same account at the same time, and once alone
before, so the effect of the MO load on MT sending is measured in the same run.

`--deliver-window W` makes the stand-in keep at most W deliver_sm unanswered on the bind, as an
operator's SMSC does (the rest wait their turn); without it every answer is written at once, a
flood that the smpp process takes up to its queue's bound and refuses beyond (the stand-in
delivers those again 0.2 s later). The stand-in's counts of MO parts sent, acknowledged and
refused are in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.bench import smpp_throughput as transport
from scripts.harness import ROOT, PgSchema, analyze, machine, proc_cpu_seconds
from scripts.harness.standins import start_smsc

LONG = ("2 toi dong y voi du thao van kien va de nghi bo sung them noi dung ve phat trien "
        "nong nghiep cong nghe cao, chuyen doi so o cap xa va dao tao nghe cho thanh nien "
        "nong thon de giu chan lao dong tai dia phuong")


def answer(i: int) -> tuple[str, str | None]:
    """The text number i sends and the choice it must count as (None: a free-text answer)."""
    if i % 10 == 9:
        return LONG, None  # 10 %: a comment in two UDH parts, kept as free text
    choice = str(1 + i % 3)
    return [choice, f" {choice}.", {"1": "một", "2": "hai", "3": "ba"}[choice]][i % 3], choice


def post(control: int, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{control}{path}",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def setup(port: int, n: int, mt: int) -> tuple[int, int, int | None]:
    """Tables, an account, the delivered survey campaign (n rows) and, with mt, a paused one."""
    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message
    from dispatch.models.common import utcnow
    from dispatch.seed import seed_defaults
    from dispatch.sms import accounts as smpp_accounts

    db.create_all()
    seed_defaults()
    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
    account = smpp_accounts.create(
        {"name": "bench", "host": "127.0.0.1", "port": port, "system_id": "bench",
         "password": "bench", "tps": 10_000, "window": 50, "binds": 1,
         "is_default": True, "brandnames": ["LOA"]}, actor=None)
    now = utcnow()
    survey = Campaign(
        title="survey", channels="sms", sms_text="Ban co dong y?", sms_sender="LOA",
        status=CampaignStatus.COMPLETED, launched_at=now - timedelta(hours=1),
        created_by_id=editor.id, reply_mode="survey", reply_days=7,
        survey={"question": "Ban co dong y?", "choices": [
            {"key": "1", "label": "Dong y", "keywords": []},
            {"key": "2", "label": "Khong dong y", "keywords": []},
            {"key": "3", "label": "Y kien khac", "keywords": []}]})
    db.session.add(survey)
    db.session.commit()
    table = Message.__table__
    for start in range(0, n, 10_000):
        db.session.execute(sa.insert(table), [
            {"campaign_id": survey.id, "channel": "sms", "recipient_id": i,
             "address": f"+8491{i:07d}", "status": "delivered", "account_id": account.id,
             "operator": "viettel", "parts": 1, "attempts": 1, "created_at": now,
             "submitted_at": now, "finished_at": now}
            for i in range(start, min(n, start + 10_000))])
    db.session.commit()
    mt_id = None
    if mt:
        sending = Campaign(title="mt", channels="sms", sms_text=transport.TEXT,
                           sms_sender="LOA", status=CampaignStatus.PAUSED, launched_at=now,
                           created_by_id=editor.id, window_start=clock_time(0, 0),
                           window_end=clock_time(23, 59, 59, 999999))
        db.session.add(sending)
        db.session.commit()
        mt_id = sending.id
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        analyze(conn)
    return survey.id, account.id, mt_id


def queue_mt(campaign_id: int, account_id: int, rows: int, offset: int) -> None:
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, Message
    from dispatch.models.common import utcnow

    now = utcnow()
    db.session.execute(sa.insert(Message.__table__), [
        {"campaign_id": campaign_id, "channel": "sms", "recipient_id": offset + i,
         "address": f"+8498{offset + i:07d}", "status": "queued", "queued_at": now,
         "account_id": account_id, "operator": "viettel", "parts": 1, "attempts": 0,
         "created_at": now} for i in range(rows)])
    db.session.execute(sa.update(Campaign).where(Campaign.id == campaign_id)
                       .values(status=CampaignStatus.SENDING))
    db.session.commit()


def unsent(campaign_id: int) -> int:
    from dispatch.extensions import db
    from dispatch.models import Message

    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).where(
        Message.campaign_id == campaign_id,
        Message.status.in_(("queued", "sending")))) or 0


def mt_alone(campaign_id: int, account_id: int, rows: int, timeout: float) -> float:
    from dispatch.engine import enqueue

    queue_mt(campaign_id, account_id, rows, 0)
    start = time.perf_counter()
    enqueue.wake_sms([account_id])
    while unsent(campaign_id) and time.perf_counter() - start < timeout:
        time.sleep(0.1)
    return rows / (time.perf_counter() - start)


def run(args: argparse.Namespace, port: int, control: int, folder: Path) -> dict[str, Any]:
    from dispatch import create_app
    from dispatch.engine import enqueue
    from dispatch.extensions import db
    from dispatch.jobs.redis_conn import ensure_embedded_redis, get_redis, stop_embedded_redis
    from dispatch.models import Reply
    from dispatch.sms import status

    schema = PgSchema("loa_bench")
    redis_url = os.environ.get("REDIS_URL") or ensure_embedded_redis(folder / "instance")
    instance = folder / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": schema.url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(instance)})
    env = dict(os.environ, DATABASE_URL=schema.url, REDIS_URL=redis_url,
               LOA_INSTANCE_PATH=str(instance), FLASK_APP="dispatch:create_app",
               PYTHONPATH=str(ROOT))
    log = open(folder / "smpp.log", "wb")  # noqa: SIM115
    proc = None
    try:
        with app.app_context():
            redis = get_redis()
            redis.flushdb()
            survey_id, account_id, mt_id = setup(port, args.answers, args.mt)
            proc = subprocess.Popen([sys.executable, "-m", "flask", "smpp", "run", "--poll",
                                     "1", "--no-throttle"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 30
            while not any(r["state"] == "bound" for r in status.read(redis)):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"the smpp process did not bind; see {folder}/smpp.log")
                time.sleep(0.1)
            alone = mt_alone(mt_id, account_id, args.mt, args.timeout) if mt_id else None
            expected: dict[str, int] = {}
            burst = []
            for i in range(args.answers):
                text, choice = answer(i)
                burst.append([f"8491{i:07d}", "8088", text])
                if choice is not None:
                    expected[choice] = expected.get(choice, 0) + 1
            cpu_before = proc_cpu_seconds(proc.pid)
            start = time.perf_counter()
            if mt_id:
                queue_mt(mt_id, account_id, args.mt, args.mt)
                enqueue.wake_sms([account_id])
            sent_parts = 0
            for at in range(0, len(burst), 5_000):
                sent_parts += post(control, "/mo", {"account": "bench",
                                                    "messages": burst[at:at + 5_000]})["parts"]
            mt_rate = None
            if mt_id:
                while unsent(mt_id) and time.perf_counter() - start < args.timeout:
                    time.sleep(0.1)
                mt_rate = args.mt / (time.perf_counter() - start)
            stored = 0
            while time.perf_counter() - start < args.timeout:
                db.session.rollback()
                stored = db.session.scalar(sa.select(sa.func.count()).select_from(Reply)
                                           .where(Reply.campaign_id == survey_id)) or 0
                if stored >= args.answers:
                    break
                time.sleep(0.1)
            done = time.perf_counter()
            cpu = proc_cpu_seconds(proc.pid) - cpu_before
            if stored != args.answers:
                raise SystemExit(f"{stored} of {args.answers} answers attributed")
            counted = dict(db.session.execute(
                sa.select(Reply.choice, sa.func.count()).where(
                    Reply.campaign_id == survey_id, Reply.counted.is_(True),
                    Reply.kind == "answer").group_by(Reply.choice)).all())
            smsc = transport.standin_stats(control)
            return {"answers": args.answers, "parts": sent_parts, "seconds": done - start,
                    "per_second": args.answers / (done - start),
                    "cpu_ms_per_answer": 1000 * cpu / args.answers,
                    "counted": counted, "expected": expected, "exact": counted == expected,
                    "mt_alone": alone, "mt_during": mt_rate,
                    "standin_mo": {k: smsc.get(f"mos_{k}", 0)
                                   for k in ("sent", "acked", "refused")}}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        schema.drop()
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(folder / "instance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--mt", type=int, default=0, help="MT rows sent meanwhile (0: none)")
    parser.add_argument("--deliver-window", type=int, default=0,
                        help="unanswered deliver_sm the stand-in keeps per bind (0: no limit)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    window = ("--deliver-window", str(args.deliver_window)) if args.deliver_window else ()
    standin, port, control = start_smsc("--receipt-delay", "0", "--no-record", *window,
                                        account=("bench", "bench"), name="stand-in")
    try:
        with tempfile.TemporaryDirectory() as folder:
            result = run(args, port, control, Path(folder))
    finally:
        standin.stop(10)
    print(json.dumps({"machine": machine(), "python": platform.python_version(),
                      **result}, indent=2, default=str))
    if not result["exact"]:
        raise SystemExit("the counts per choice are not what was sent")


if __name__ == "__main__":
    main()
