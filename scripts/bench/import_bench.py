"""Benchmark: import a 1,000,000-row CSV of contacts on SQLite and on PostgreSQL, as the
background job, and refuse the two workbook bombs.

    .venv/bin/python -m scripts.bench.import_bench [--rows 1000000] [--backends sqlite,postgresql]
                                                   [--bombs] [--no-csv]

Each run uploads the file the way the API does (`import_jobs.submit`: stored under the instance
folder, the record queued, the job enqueued) in one child, then times `flask worker --burst` —
the RQ worker that runs the import job — as a child process of its own, on a fresh database:
a new SQLite file, or a new schema in PostgreSQL's `test` database (TEST_DATABASE_URL,
default postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
Wall time and peak RSS are the child's (os.wait4), so runs do not pollute each other. The
baseline, in the same run and also one child per backend, is the naive way: phonenumbers on
every row and an ORM query-then-insert per row, measured on the first --baseline-rows rows and
extrapolated linearly (optimistic: the real thing slows as the tables grow). Every child is
killed after --timeout seconds, so the benchmark always stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from scripts.bench.gen_contacts import write_csv
from scripts.harness import WORK, PgSchema, loa_env, machine, python_module, run_child

TARGET_SECONDS, TARGET_MB = 60, 300


# --- databases --------------------------------------------------------------------------------

def fresh_database(backend: str, folder: Path) -> tuple[str, Any]:
    """A new empty database with Loa's tables and seed data; returns (url, cleanup)."""
    if backend == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"

        def cleanup() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        schema = PgSchema("loa_bench")
        url, cleanup = schema.url, schema.drop
    _run_child(["setup"], url, folder, timeout=120)
    return url, cleanup


REDIS: dict[str, str] = {}  # the one embedded Redis of the whole benchmark (main starts it)


def _env(url: str, folder: Path) -> dict[str, str]:
    return loa_env(url, REDIS.get("REDIS_URL"), folder / "instance")


def _run_child(args: list[str], url: str, folder: Path, *, timeout: float,
               command: list[str] | None = None) -> dict[str, Any]:
    """Run this module as `--child ARGS` (or `command`) on the database `url`, waited for with
    wait4 (its own rusage), killed after `timeout` s."""
    argv = command or python_module("scripts.bench.import_bench", "--child", *args)
    return run_child(argv, env=_env(url, folder), timeout=timeout)


# --- the children -----------------------------------------------------------------------------

def child_setup() -> None:
    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.seed import seed_defaults

    app = create_app()
    with app.app_context():
        db.create_all()
        seed_defaults()


def child_submit(path: str) -> None:
    """Store the file as an upload and enqueue its import job, as POST .../imports does."""
    from dispatch import create_app
    from dispatch.audiences import contacts, import_jobs

    app = create_app()
    with app.app_context():
        target = contacts.find_list("bench") or contacts.create_list("bench", actor=None)
        with open(path, "rb") as stream:
            record = import_jobs.submit(stream, Path(path).name, target, None)
        print(json.dumps({"import_id": record.id}))


def child_report() -> None:
    """Print the last import's report and the table sizes as JSON."""
    from sqlalchemy import func, select

    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.models import Contact, ContactImport, ListMember

    app = create_app()
    with app.app_context():
        record = db.session.scalar(select(ContactImport).order_by(ContactImport.id.desc()))
        print(json.dumps({
            "status": record.status if record else None,
            "message": record.message if record else None,
            "total_rows": record.total_rows if record else 0,
            "imported_rows": record.imported_rows if record else 0,
            "new_contacts": record.new_contacts if record else 0,
            "duplicate_rows": record.duplicate_rows if record else 0,
            "error_rows": record.error_rows if record else 0,
            "contacts": db.session.scalar(select(func.count()).select_from(Contact)),
            "members": db.session.scalar(select(func.count()).select_from(ListMember)),
        }))


def child_baseline(path: str, rows: int, budget: float) -> None:
    """The naive import: phonenumbers per row, ORM query-then-insert per row, one commit.

    Stops after `rows` rows or `budget` seconds, whichever comes first, and says how far it got.
    """
    import csv

    from sqlalchemy import select

    from dispatch import create_app
    from dispatch.audiences.msisdn import normalise_slow
    from dispatch.extensions import db
    from dispatch.models import Contact, ContactList, ListMember, Locality

    app = create_app()
    with app.app_context():
        contact_list = ContactList(name="baseline")
        db.session.add(contact_list)
        db.session.commit()
        started = time.perf_counter()
        done = 0
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                if done >= rows or time.perf_counter() - started > budget:
                    break
                done += 1
                number = normalise_slow(row["so_dien_thoai"])
                if not number.ok:
                    continue
                place = row["dia_ban"].strip()
                locality_id = db.session.scalar(select(Locality.id).where(
                    (Locality.code == place) | (Locality.name == place))) if place else None
                contact = db.session.scalar(select(Contact).where(Contact.msisdn == number.msisdn))
                if contact is None:
                    contact = Contact(msisdn=number.msisdn, operator=number.operator,
                                      attributes={})
                    db.session.add(contact)
                contact.name = row["ho_ten"] or contact.name
                contact.locality_id = locality_id or contact.locality_id
                if row["attr_nhom"]:
                    contact.attributes = {**contact.attributes, "nhom": row["attr_nhom"]}
                db.session.flush()
                if db.session.get(ListMember, (contact_list.id, contact.id)) is None:
                    db.session.add(ListMember(list_id=contact_list.id, contact_id=contact.id))
        db.session.commit()
        print(json.dumps({"seconds": time.perf_counter() - started, "rows": done}))


def child_normalise(path: str, rows: int) -> None:
    """Time the fast and the slow normalisation of the file's phone column."""
    import csv

    from dispatch.audiences.msisdn import normalise, normalise_slow

    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        phones = [row[0] for _, row in zip(range(rows), reader, strict=False)]
    from dispatch.audiences import msisdn

    micros: dict[str, float] = {}
    answers: dict[str, list[Any]] = {}
    # The fast path reads prefix tables; the slow path remembers each text it answered, so the
    # second pass shows a large file's steady state for its bad numbers.
    for name, function in (("slow", normalise_slow), ("fast_first_pass", normalise),
                           ("fast_second_pass", normalise)):
        started = time.perf_counter()
        answers[name] = [function(p) for p in phones]
        micros[name] = round((time.perf_counter() - started) / len(phones) * 1e6, 2)
    print(json.dumps({**{f"{k}_us": v for k, v in micros.items()},
                      "same": answers["slow"] == answers["fast_first_pass"]
                      == answers["fast_second_pass"],
                      "slow_texts_remembered": len(msisdn._unusual), "numbers": len(phones)}))


# --- the parent -------------------------------------------------------------------------------

def ensure_csv(rows: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"contacts-{rows}.csv"
    if not path.exists():
        started = time.perf_counter()
        write_csv(path.with_suffix(".tmp"), rows)
        path.with_suffix(".tmp").rename(path)
        print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


def bench_backend(backend: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"loa-bench-{backend}-", dir=WORK))
    result: dict[str, Any] = {"backend": backend}
    try:
        url, cleanup = fresh_database(backend, folder)
        try:
            result.update(run_job(path, url, folder, args.timeout))
            report = _run_child(["report"], url, folder, timeout=120)
            result["report"] = json.loads(report["stdout"] or "{}")
        finally:
            cleanup()
        if args.baseline_rows:
            url, cleanup = fresh_database(backend, folder)
            try:
                base = _run_child(["baseline", str(path), str(args.baseline_rows),
                                   str(args.baseline_seconds)], url, folder, timeout=args.timeout)
                measured = json.loads(base["stdout"] or "{}")
                if measured:
                    per_row = measured["seconds"] / measured["rows"]
                    result["baseline"] = {
                        "rows": measured["rows"], "seconds": round(measured["seconds"], 1),
                        "extrapolated_seconds": round(per_row * args.rows),
                        "peak_mb": base["peak_mb"]}
                else:
                    result["baseline"] = {"error": base["stderr"][-1000:]}
            finally:
                cleanup()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def run_job(path: Path, url: str, folder: Path, timeout: float) -> dict[str, Any]:
    """Submit `path` for import, then time the worker that runs the job."""
    submitted = _run_child(["submit", str(path)], url, folder, timeout=300)
    if submitted["exit"] != 0:
        return {"exit": submitted["exit"], "stderr": submitted["stderr"][-2000:]}
    result: dict[str, Any] = {"load_before": [round(x, 2) for x in os.getloadavg()]}
    worker = [sys.executable, "-m", "flask", "worker", "--burst"]
    run = _run_child([], url, folder, timeout=timeout, command=worker)
    result.update({k: run[k] for k in ("seconds", "peak_mb", "exit", "timed_out")})
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    # RQ's own log line: the job alone, without starting Python and the app.
    import re

    took = re.search(r"completed import \d+ job in (\d+):(\d+):([\d.]+)s", run["stderr"])
    if took:
        hours, minutes, secs = took.groups()
        result["job_seconds"] = round(int(hours) * 3600 + int(minutes) * 60 + float(secs), 2)
    if run["exit"] != 0:
        result["stderr"] = run["stderr"][-2000:]
    return result


STRINGS_OVERRIDE = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                    b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')


def write_bombs() -> dict[str, Path]:
    """The two workbooks of issue 11: one 1.5 GB shared string in ~1.5 MB, and ~2 KB declaring
    A1:XFD1048576."""
    import zipfile

    from openpyxl import Workbook

    WORK.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.active.append(["phone"])
    book.active.append(["0912345678"])
    plain = WORK / "plain.xlsx"
    book.save(plain)
    source = zipfile.ZipFile(plain)
    sheet = "xl/worksheets/sheet1.xml"
    paths = {"dimension": WORK / "bomb-dimension.xlsx", "shared_string": WORK / "bomb-string.xlsx"}
    with zipfile.ZipFile(paths["dimension"], "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == sheet:
                body = body.replace(b'<dimension ref="A1:A2"/>',
                                    b'<dimension ref="A1:XFD1048576"/>')
            out.writestr(info.filename, body)
    if not paths["shared_string"].exists():
        with zipfile.ZipFile(paths["shared_string"], "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                body = source.read(info)
                if info.filename == "[Content_Types].xml":
                    body = body.replace(b"</Types>", STRINGS_OVERRIDE)
                elif info.filename == sheet:
                    body = body.replace(b'<c r="A2" t="inlineStr"><is><t>0912345678</t></is></c>',
                                        b'<c r="A2" t="s"><v>0</v></c>')
                out.writestr(info.filename, body)
            with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                           b'openxmlformats.org/spreadsheetml/2006/main"><si><t>')
                chunk = b"9" * (1 << 24)
                for _ in range(96):  # 1.5 GiB
                    part.write(chunk)
                part.write(b"</t></si></sst>")
    return paths


XLSX_ROWS = 1_048_575  # Excel's last row holds the 1,048,575th data row under the header


def ensure_xlsx(csv_path: Path) -> Path:
    """A real workbook as big as Excel allows: the CSV's rows, the first ones again at the end."""
    import csv
    import itertools

    from openpyxl import Workbook

    path = WORK / f"contacts-{XLSX_ROWS}.xlsx"
    if path.exists():
        return path
    started = time.perf_counter()
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        sheet.append(next(reader))
        rows = list(itertools.islice(reader, XLSX_ROWS))
    for row in itertools.islice(itertools.cycle(rows), XLSX_ROWS):
        sheet.append(row)
    book.save(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


def bench_files(paths: dict[str, Path], args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for name, path in paths.items():
        folder = Path(tempfile.mkdtemp(prefix="loa-bench-bomb-", dir=WORK))
        try:
            url, cleanup = fresh_database("sqlite", folder)
            try:
                run = {"file": name, "file_kb": round(path.stat().st_size / 1024, 1),
                       **run_job(path, url, folder, args.timeout)}
                report = _run_child(["report"], url, folder, timeout=120)
                run["report"] = json.loads(report["stdout"] or "{}")
            finally:
                cleanup()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(json.dumps(run, ensure_ascii=False), flush=True)
        results.append(run)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--baseline-rows", type=int, default=50_000,
                        help="rows of the naive baseline run (0: skip it)")
    parser.add_argument("--baseline-seconds", type=float, default=120,
                        help="stop the baseline after this long and extrapolate from there")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per child")
    parser.add_argument("--bombs", action="store_true", help="also refuse the two XLSX bombs")
    parser.add_argument("--xlsx", action="store_true",
                        help="also import a real 1,048,575-row XLSX (SQLite)")
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV runs")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        {"setup": child_setup, "report": child_report, "submit": lambda: child_submit(rest[0]),
         "baseline": lambda: child_baseline(rest[0], int(rest[1]), float(rest[2])),
         "normalise": lambda: child_normalise(rest[0], int(rest[1]))}[kind]()
        return

    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_dir = Path(tempfile.mkdtemp(prefix="loa-bench-redis-"))
    if not os.environ.get("REDIS_URL"):
        REDIS["REDIS_URL"] = ensure_embedded_redis(redis_dir)
    try:
        bench(args)
    finally:
        stop_embedded_redis(redis_dir)
        shutil.rmtree(redis_dir, ignore_errors=True)


def bench(args: argparse.Namespace) -> None:
    info = machine()
    print(json.dumps(info), flush=True)
    if args.no_csv:
        bench_files(write_bombs(), args)
        if args.xlsx:
            bench_files({"xlsx_1048575_rows": ensure_xlsx(ensure_csv(args.rows))}, args)
        return
    path = ensure_csv(args.rows)
    results: dict[str, Any] = {"machine": info, "rows": args.rows, "file": str(path),
                               "file_mb": round(path.stat().st_size / 1e6, 1), "runs": []}
    sample = min(args.rows, 100_000)
    norm = _run_child(["normalise", str(path), str(sample)], "sqlite://", WORK, timeout=600)
    results["normalise"] = json.loads(norm["stdout"] or "{}")
    print(json.dumps({"normalise": results["normalise"]}), flush=True)
    for backend in args.backends.split(","):
        run = bench_backend(backend.strip(), path, args)
        run["ok"] = (run.get("exit") == 0 and run.get("seconds", 1e9) <= TARGET_SECONDS
                     and run.get("peak_mb", 1e9) <= TARGET_MB)
        results["runs"].append(run)
        print(json.dumps(run, ensure_ascii=False), flush=True)
    if args.bombs:
        results["bombs"] = bench_files(write_bombs(), args)
    if args.xlsx:
        results["xlsx"] = bench_files({"xlsx_1048575_rows": ensure_xlsx(path)}, args)
    out = WORK / "results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\n{'backend':<11} {'wall s':>7} {'peak MB':>8} {'baseline s (extrap.)':>21}  target")
    for run in results["runs"]:
        base = run.get("baseline", {}).get("extrapolated_seconds", "-")
        print(f"{run['backend']:<11} {run.get('seconds', '-'):>7} {run.get('peak_mb', '-'):>8} "
              f"{base:>21}  {'met' if run['ok'] else 'MISSED'}")
    print(f"results: {out}")
    sys.exit(0 if all(run["ok"] for run in results["runs"]) else 1)


if __name__ == "__main__":
    main()
