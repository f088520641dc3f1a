"""Benchmark: export a 1,000,000-row campaign ledger as CSV and XLSX on PostgreSQL.

    .venv/bin/python -m scripts.bench.report_export [--rows 1000000] [--sample 100000]

A fresh schema in PostgreSQL's `test` database (TEST_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards, holds two completed campaigns
written with generate_series: one of --rows ledger rows and one of --sample rows (a realistic
mix: 5 % suppressed, 2 % failed, 1 % unknown, 1 % awaiting receipt, the rest delivered; 10 % of
the SMS in two parts, with a message_parts row per part and SMSC ids; Vietnamese names).

Every measurement is a child process of its own (wall time and peak RSS from os.wait4), which
calls the real endpoint through Flask's test client as an approver and consumes the streamed
body chunk by chunk into a file, as a browser would. The naive baseline, in the same run and on
the --sample campaign, loads every row through the ORM (`.all()`), builds the whole CSV in
memory, or a normal (not write-only) openpyxl workbook, and writes it out at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from scripts.harness import PgSchema, analyze, machine, python_module
from scripts.harness import run_child as run_process

WORK = Path(tempfile.gettempdir()) / "loa-bench-report"
T0 = "2025-03-10 01:00:00+00"


# --- the parent -------------------------------------------------------------------------------

def run_child(args: list[str], url: str, *, timeout: float) -> dict[str, Any]:
    """Run this module as `--child ARGS` with DATABASE_URL=url; return its JSON, time, RSS."""
    env = dict(os.environ, DATABASE_URL=url, LOA_INSTANCE_PATH=str(WORK / "instance"))
    done = run_process(python_module("scripts.bench.report_export", "--child", *args), env=env,
                       timeout=timeout)
    result: dict[str, Any] = {"wall_s": done["seconds"], "peak_mb": round(done["peak_mb"]),
                              "exit": done["exit"]}
    if done["exit"] != 0:
        result["stderr"] = done["stderr"][-2000:]
        return result
    lines = done["stdout"].strip().splitlines()
    result.update(json.loads(lines[-1]) if lines else {})
    return result


def xlsx_rows(path: Path) -> int:
    """Count the <row> elements of every worksheet, streaming the zip (header rows included)."""
    rows = 0
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/sheet"):
                tail = b""
                with book.open(name) as sheet:
                    while chunk := sheet.read(1 << 20):
                        data = tail + chunk
                        rows += data.count(b"<row ") + data.count(b"<row>")
                        tail = data[-5:]
                        rows -= tail.count(b"<row ") + tail.count(b"<row>")
                rows += tail.count(b"<row ") + tail.count(b"<row>")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child is not None:
        CHILDREN[args.child[0]](*args.child[1:])
        return

    WORK.mkdir(parents=True, exist_ok=True)
    schema = PgSchema("loa_bench")
    url = schema.url
    report: dict[str, Any] = {"machine": machine(), "rows": args.rows, "sample": args.sample}
    try:
        setup = run_child(["setup", str(args.rows), str(args.sample)], url,
                          timeout=args.timeout)
        report["setup"] = {k: setup.get(k) for k in ("wall_s", "exit", "stderr")}
        if setup["exit"] != 0:
            raise SystemExit(json.dumps(report, indent=2))
        big, small = setup["campaigns"]
        runs: dict[str, Any] = {}
        for label, task, cid in [
            ("report_json_big", "report", big),
            ("csv_big", "csv", big),
            ("xlsx_big", "xlsx", big),
            ("csv_sample", "csv", small),
            ("xlsx_sample", "xlsx", small),
            ("naive_csv_sample", "naive_csv", small),
            ("naive_xlsx_sample", "naive_xlsx", small),
        ]:
            print(f"... {label}", file=sys.stderr, flush=True)
            result = run_child([task, str(cid), setup["token"], label], url,
                               timeout=args.timeout)
            path = WORK / f"{label}.out"
            if result.get("exit") == 0 and task in ("xlsx", "naive_xlsx"):
                result["rows_in_file"] = xlsx_rows(path) - 1
            path.unlink(missing_ok=True)
            runs[label] = result
            print(json.dumps({label: result}), file=sys.stderr, flush=True)
        report["runs"] = runs
    finally:
        schema.drop()
    print(json.dumps(report, indent=2))


# --- the children -----------------------------------------------------------------------------

def _app() -> Any:
    from dispatch import create_app

    return create_app({"TESTING": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def _fill(conn: Any, campaign_id: int, first: int, n: int, account: int) -> None:
    """Contacts first..first+n-1 and one ledger row each, then their parts."""
    from sqlalchemy import text

    conn.execute(text("""
        INSERT INTO contacts (id, msisdn, operator, name, attributes, created_at, updated_at)
        SELECT g, '+849' || lpad(g::text, 8, '0'),
               (ARRAY['viettel','vinaphone','mobifone'])[1 + g % 3],
               'Nguyễn Thị Ánh ' || g, '{}', now(), now()
        FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g"""),
        {"a": first, "b": first + n - 1})
    conn.execute(text("""
        INSERT INTO messages (campaign_id, channel, recipient_id, address, status, reason,
                              error_code, operator, account_id, parts, attempts, created_at,
                              queued_at, sending_at, submitted_at, finished_at)
        SELECT :cid, 'sms', g, '+849' || lpad(g::text, 8, '0'), s.status,
               CASE s.status WHEN 'suppressed' THEN 'opt_out' WHEN 'failed' THEN 'UNDELIV'
                             WHEN 'unknown' THEN 'no_receipt' END,
               CASE s.status WHEN 'failed' THEN '001' END,
               (ARRAY['viettel','vinaphone','mobifone'])[1 + g % 3],
               CASE WHEN s.status = 'suppressed' THEN NULL ELSE :acc END,
               CASE WHEN g % 10 = 5 THEN 2 ELSE 1 END,
               CASE WHEN s.status = 'suppressed' THEN 0 ELSE 1 END,
               t.t0, t.t0, t.sent, CASE WHEN s.status = 'suppressed' THEN NULL ELSE t.sent END,
               CASE WHEN s.status IN ('submitted') THEN NULL
                    WHEN s.status = 'suppressed' THEN t.t0
                    ELSE t.sent + interval '20 seconds' END
        FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
        CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 5 THEN 'suppressed'
                                        WHEN g % 100 < 7 THEN 'failed'
                                        WHEN g % 100 < 8 THEN 'unknown'
                                        WHEN g % 100 < 9 THEN 'submitted'
                                        ELSE 'delivered' END AS status) s
        CROSS JOIN LATERAL (SELECT CAST(:t0 AS timestamptz) AS t0,
                                   CAST(:t0 AS timestamptz)
                                   + (g - CAST(:a AS bigint)) * interval '2 milliseconds'
                                   AS sent) t
        """), {"cid": campaign_id, "a": first, "b": first + n - 1, "acc": account, "t0": T0})
    conn.execute(text("""
        INSERT INTO message_parts (message_id, part_no, account_id, smsc_id, status,
                                   submitted_at)
        SELECT m.id, p.no, m.account_id, to_hex(m.id * 16 + p.no), m.status, m.submitted_at
        FROM messages m CROSS JOIN LATERAL generate_series(1, m.parts) AS p(no)
        WHERE m.campaign_id = :cid AND m.status <> 'suppressed'"""), {"cid": campaign_id})


def child_setup(rows: str, sample: str) -> None:
    from sqlalchemy import text

    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus, SmppAccount
    from dispatch.seed import seed_defaults

    app = _app()
    with app.app_context():
        db.create_all()
        seed_defaults()
        approver, _ = users.create_user("bench-approver", ["approver"], actor=None,
                                        password="bench password 1")
        account = SmppAccount(name="viettel-bench", host="127.0.0.1", port=2775,
                              system_id="loa", password_encrypted="x", operators=["viettel"])
        db.session.add(account)
        db.session.flush()
        ids = []
        for title, n in (("Đại hội: toàn tỉnh", int(rows)), ("Đại hội: mẫu", int(sample))):
            c = Campaign(title=title, channels="sms", status=CampaignStatus.COMPLETED,
                         created_by_id=approver.id)
            db.session.add(c)
            db.session.flush()
            ids.append((c.id, n))
        _, token = users.create_token(approver, "bench")
        db.session.commit()
        with db.engine.begin() as conn:
            first = 1
            for cid, n in ids:
                _fill(conn, cid, first, n, account.id)
                first += n
            conn.execute(text("SELECT setval(pg_get_serial_sequence('contacts', 'id'), :n)"),
                         {"n": first})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            analyze(conn)
        print(json.dumps({"campaigns": [cid for cid, _ in ids], "token": token}))


def child_endpoint(suffix: str, cid: str, token: str, label: str) -> None:
    """GET the endpoint, consume the body chunk by chunk into a file; print what came."""
    app = _app()
    client = app.test_client()
    started = time.perf_counter()
    resp = client.get(f"/api/campaigns/{cid}/{suffix}",
                      headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert resp.status_code == 200, resp.status_code
    first_byte = None
    size = newlines = 0
    with open(WORK / f"{label}.out", "wb") as out:
        for chunk in resp.response:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            newlines += chunk.count(b"\n")
            out.write(chunk)
    resp.close()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": round(seconds, 1),
                              "first_byte_s": round(first_byte or 0, 2),
                              "mb": round(size / 1e6, 1)}
    if suffix.endswith(".csv"):
        result["rows_in_file"] = newlines - 1
    print(json.dumps(result))


def child_report(cid: str, token: str, label: str) -> None:
    app = _app()
    client = app.test_client()
    timings = []
    body: dict[str, Any] = {}
    for _ in range(3):
        started = time.perf_counter()
        resp = client.get(f"/api/campaigns/{cid}/report",
                          headers={"Authorization": f"Bearer {token}"})
        timings.append(time.perf_counter() - started)
        assert resp.status_code == 200, resp.json
        body = resp.json
    print(json.dumps({"seconds_each": [round(t, 2) for t in timings],
                      "targeted": body["total"]["targeted"],
                      "submitted": body["total"]["submitted"],
                      "buckets": len(body["timeline"]["buckets"])}))


def _naive_rows(cid: int) -> tuple[list[Any], dict[int, list[str]]]:
    """The naive way: every message as an ORM object (with its contact's name), every part too."""
    from sqlalchemy import select

    from dispatch.extensions import db
    from dispatch.models import Contact, Message, MessagePart

    messages = db.session.execute(
        select(Message, Contact.name).outerjoin(Contact, Contact.id == Message.recipient_id)
        .where(Message.campaign_id == cid).order_by(Message.id)).all()
    parts: dict[int, list[str]] = {}
    for part in db.session.scalars(
            select(MessagePart).join(Message, Message.id == MessagePart.message_id)
            .where(Message.campaign_id == cid).order_by(MessagePart.message_id,
                                                        MessagePart.part_no)).all():
        parts.setdefault(part.message_id, []).append(part.smsc_id or "")
    return list(messages), parts


def child_naive(fmt: str, cid: str, label: str) -> None:
    import csv
    import io

    from dispatch.config import local_zone
    from dispatch.reports.export import LEDGER_COLUMNS

    app = _app()
    with app.app_context():
        started = time.perf_counter()
        local = local_zone()
        messages, parts = _naive_rows(int(cid))
        rows = [[m.id, m.channel, m.address, name, m.operator,
                 m.account_id, m.status.value, m.reason, m.error_code, m.parts, m.attempts,
                 " ".join(parts.get(m.id, [])),
                 *(t.astimezone(local).replace(tzinfo=None) if t else None
                   for t in (m.queued_at, m.submitted_at, m.finished_at))]
                for m, name in messages]
        header = [f"{vi} ({key})" for key, vi in LEDGER_COLUMNS]
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(header)
            writer.writerows(rows)
            (WORK / f"{label}.out").write_text(buffer.getvalue(), encoding="utf-8-sig")
        else:
            from openpyxl import Workbook

            book = Workbook()
            book.active.append(header)
            for row in rows:
                book.active.append(row)
            book.save(WORK / f"{label}.out")
        print(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                          "rows_in_file": len(rows)}))


CHILDREN: dict[str, Any] = {
    "setup": child_setup,
    "csv": lambda cid, token, label: child_endpoint("export.csv", cid, token, label),
    "xlsx": lambda cid, token, label: child_endpoint("export.xlsx", cid, token, label),
    "report": child_report,
    "naive_csv": lambda cid, _token, label: child_naive("csv", cid, label),
    "naive_xlsx": lambda cid, _token, label: child_naive("xlsx", cid, label),
}


if __name__ == "__main__":
    main()
