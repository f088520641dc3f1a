"""Benchmark: expansion of a 1,000,000 to 10,000,000-recipient personalised SMS campaign on
PostgreSQL — time, peak memory (flat?), and database bytes per message (issue 14, item 7).

    .venv/bin/python -m scripts.bench.scale_bench [--sizes 1000000,3000000,10000000]

Per size, on a database of its own (CREATE DATABASE on TEST_DATABASE_URL's server, dropped at
the end, so the sizes read are this run's alone): Loa's tables and seed data, ten communes under
each seeded district, and the contacts generated inside PostgreSQL (one INSERT … SELECT FROM
generate_series each for contacts and list_members: no data through Python or a client, cheaper
still than COPY; timed as `generate_seconds`, not part of the figures): varied Vietnamese names,
six operators, 95 % placed in a commune (the other 5 % have no `{xa}`: suppressed as
missing_value), one imported attribute. Then scripts/harness/expansion.py: a campaign on SMS
with the personalised text (`{ho_ten|ông/bà}`, `{xa}`) submitted (freeze and exact cost: timed),
approved, launched, and the expand job in a child of its own: its wall time and peak RSS. Then,
per table, pg_total_relation_size (heap, TOAST and indexes) and its indexes alone, divided by
the ledger rows. The parts and receipts of a sent campaign are measured by sms_campaign.py
(`--sizes`), which sends one through the stand-in SMSC.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.harness import WORK, code_version, fresh_pg_database, machine
from scripts.harness.expansion import PERSONAL_TEXT, run_stages, stage

TABLES = ("messages", "message_texts", "message_parts", "raw_receipts", "campaign_members",
          "contacts", "list_members")

GENERATE = [
    # Ten communes under each district the seed made.
    """INSERT INTO localities (code, name, kind, parent_id, active)
       SELECT d.code || '-xa-' || i, 'Xã ' || split_part(d.name, ' ', -1) || ' ' || i,
              'commune', d.id, true
       FROM localities AS d, generate_series(0, 9) AS i WHERE d.parent_id IS NULL""",
    """INSERT INTO contacts (msisdn, operator, name, locality_id, attributes, created_at,
                             updated_at)
       SELECT '+849' || lpad(g::text, 8, '0'),
              (ARRAY['viettel','viettel','viettel','viettel','viettel','vinaphone','vinaphone',
                     'mobifone','mobifone','vietnamobile'])[1 + g % 10],
              (ARRAY['Nguyễn','Trần','Lê','Phạm','Huỳnh','Võ','Phan','Trương','Bùi','Đặng'])
                  [1 + g % 10] || ' ' ||
              (ARRAY['Văn','Thị','Hữu','Minh','Ngọc','Thanh','Quốc','Hoàng'])[1 + (g / 10) % 8]
                  || ' ' ||
              (ARRAY['An','Bình','Cường','Dũng','Hà','Hạnh','Lan','Mai','Nam','Phúc','Quyên',
                     'Sơn','Tâm','Thảo','Trang','Tuấn','Vy','Yến'])[1 + (g / 80) % 18],
              CASE WHEN g % 20 = 19 THEN NULL
                   ELSE (SELECT ids[1 + g % cardinality(ids)] FROM communes) END,
              json_build_object('nhom', 'to ' || (g % 50)), now(), now()
       FROM generate_series(0, :n - 1) AS g
       ORDER BY g""",
    "INSERT INTO contact_lists (name, description, created_at) VALUES ('bench', '', now())",
    """INSERT INTO list_members (list_id, contact_id)
       SELECT (SELECT id FROM contact_lists WHERE name = 'bench'), id FROM contacts""",
]


def generate(url: str, n: int) -> float:
    started = time.perf_counter()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(GENERATE[0]))
            conn.execute(sa.text(
                "CREATE TEMP TABLE communes AS SELECT array_agg(id ORDER BY id) AS ids "
                "FROM localities WHERE kind = 'commune'"))
            for sql in GENERATE[1:]:
                conn.execute(sa.text(sql), {"n": n})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return round(time.perf_counter() - started, 1)


def sizes(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            messages = conn.scalar(sa.text("SELECT count(*) FROM messages")) or 0
            texts = conn.scalar(sa.text("SELECT count(*) FROM message_texts")) or 0
            out: dict[str, Any] = {"messages": messages, "message_texts": texts, "tables": {}}
            for table in TABLES:
                total, indexes = conn.execute(sa.text(
                    "SELECT pg_total_relation_size(CAST(:t AS regclass)), "
                    "pg_indexes_size(CAST(:t AS regclass))"), {"t": table}).one()
                out["tables"][table] = {
                    "mb": round(total / 1e6, 1), "indexes_mb": round(indexes / 1e6, 1),
                    "bytes_per_message": round(total / max(messages, 1), 1)}
            out["database_mb"] = round((conn.scalar(sa.text(
                "SELECT pg_database_size(current_database())")) or 0) / 1e6, 1)
    finally:
        engine.dispose()
    return out


def bench_size(n: int, args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="loa-scale-", dir=WORK))
    url, _name, drop = fresh_pg_database("loa_scale")
    try:
        setup = run_stages(url, redis_url, folder, [("setup", stage("setup"))], timeout=300)
        if "error" in setup:
            return {"recipients": n, "error": setup["error"]}
        generated = generate(url, n)
        runs = run_stages(url, redis_url, folder, [
            ("prepare", stage("prepare", "--text", PERSONAL_TEXT)),
            ("expand", stage("expand"))], timeout=args.timeout)
        if "error" in runs:
            return {"recipients": n, "error": runs["error"]}
        run, result, prepared = runs["expand"], runs["expand"]["json"], runs["prepare"]["json"]
        return {
            "recipients": n, "generate_seconds": generated,
            "submit_seconds": prepared["submit_seconds"],
            "launch_seconds": prepared["launch_seconds"],
            "prepare_peak_mb": runs["prepare"]["peak_mb"],
            "expand_seconds": round(run["seconds"], 1), "job_seconds": result["job_seconds"],
            "job_cpu_seconds": result.get("job_cpu_seconds"),
            "pg_cpu_seconds": result.get("pg_cpu_seconds"),
            "child_cpu_seconds": run.get("cpu_seconds"),
            "expand_peak_mb": run["peak_mb"], "rows": result["rows"],
            "rows_per_second": round(result["rows"] / max(result["job_seconds"], 0.001)),
            "figures": result["figures"], "sizes": sizes(url), "load": os.getloadavg(),
        }
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_dir = Path(tempfile.mkdtemp(prefix="loa-scale-redis-", dir=WORK))
    redis_url = ensure_embedded_redis(redis_dir)
    try:
        print(json.dumps({"machine": machine(), "code": code_version(),
                          "load": os.getloadavg()}), flush=True)
        for n in (int(s) for s in args.sizes.split(",")):
            print(json.dumps(bench_size(n, args, redis_url), default=str), flush=True)
    finally:
        stop_embedded_redis(redis_dir)


if __name__ == "__main__":
    main()
