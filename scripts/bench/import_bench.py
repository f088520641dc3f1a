"""Benchmark: import a 1,000,000-row CSV of contacts on SQLite and on PostgreSQL.

    .venv/bin/python scripts/bench/import_bench.py [--rows 1000000] [--backends sqlite,postgresql]

Each run is `flask contacts import FILE --list bench` (the CLI itself) in a child process of its
own, on a fresh database: a new SQLite file, or a new schema in PostgreSQL's `test` database
(TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
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
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_contacts import write_csv  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "loa-bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_SECONDS, TARGET_MB = 60, 300


# --- the machine ------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


# --- databases --------------------------------------------------------------------------------

def _pg_base() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if "+" not in url else url


def fresh_database(backend: str, folder: Path) -> tuple[str, Any]:
    """A new empty database with Loa's tables and seed data; returns (url, cleanup)."""
    import sqlalchemy as sa

    if backend == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"

        def cleanup() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        base = _pg_base()
        schema = f"loa_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    _run_child(["setup"], url, folder, timeout=120)
    return url, cleanup


def _env(url: str, folder: Path) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=url, LOA_INSTANCE_PATH=str(folder / "instance"),
               FLASK_APP="dispatch:create_app", PYTHONPATH=str(ROOT))
    env.pop("LOA_IMPORT_BATCH_SIZE", None)
    return env


def _run_child(args: list[str], url: str, folder: Path, *, timeout: float,
               command: list[str] | None = None) -> dict[str, Any]:
    """Run a child, wait for it with wait4 (its own rusage), kill it after `timeout` s."""
    argv = command or [sys.executable, __file__, "--child", *args]
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=_env(url, folder), cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    # Drain the pipes on threads so a chatty child cannot block on a full pipe.
    import threading

    out: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        out[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("stdout", child.stdout), ("stderr", child.stderr))]
    for reader in readers:
        reader.start()
    deadline = started + timeout
    status = usage = None
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(5)
    return {"seconds": round(seconds, 1), "exit": child.returncode,
            "timed_out": seconds > timeout, "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": out.get("stdout", ""), "stderr": out.get("stderr", "")}


# --- the children -----------------------------------------------------------------------------

def child_setup() -> None:
    from dispatch import create_app
    from dispatch.extensions import db
    from dispatch.seed import seed_defaults

    app = create_app()
    with app.app_context():
        db.create_all()
        seed_defaults()


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
            result["load_before"] = round(os.getloadavg()[0], 2)
            flask = [sys.executable, "-m", "flask", "contacts", "import", str(path),
                     "--list", "bench"]
            run = _run_child([], url, folder, timeout=args.timeout, command=flask)
            result.update({k: run[k] for k in ("seconds", "peak_mb", "exit", "timed_out")})
            result["cli_summary"] = next(
                (line for line in run["stdout"].splitlines() if line.startswith("Import ")), "")
            if run["exit"] != 0:
                result["stderr"] = run["stderr"][-2000:]
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
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        {"setup": child_setup, "report": child_report,
         "baseline": lambda: child_baseline(rest[0], int(rest[1]), float(rest[2])),
         "normalise": lambda: child_normalise(rest[0], int(rest[1]))}[kind]()
        return

    info = machine()
    print(json.dumps(info), flush=True)
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
