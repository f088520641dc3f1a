"""What the expansion benchmarks share: a database with contacts, a campaign launched on it, and
the expand job run in a child of its own (its wall time and peak RSS are the figures).

    python -m scripts.harness.expansion setup                  # tables and seed data
    python -m scripts.harness.expansion prepare [--devices N] [--communes N]
        [--channels sms|both] [--strategy app_first] [--text "Kính gửi {ho_ten|ông/bà} …"]
    python -m scripts.harness.expansion expand                 # the newest campaign's job

Each is run as a child (`run_stages`) with DATABASE_URL and REDIS_URL in its environment, so
every stage's memory is its own. `prepare` is not timed as a whole: it adds verified devices
and communes when asked, creates the SMPP account and two users, and then creates, submits
(timed: freezing the audience), approves and launches (timed) a campaign to the list "bench"
and, on both channels, to every app user. The contacts are the caller's: `flask contacts
import` of a CSV (expand_bench, strategy_bench) or rows generated in SQL (scale_bench).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from scripts.harness.procs import loa_env, proc_cpu_seconds, python_module, run_child

# The benchmarks' personalised text: Vietnamese (UCS-2), a name with a default, the commune.
PERSONAL_TEXT = ("Kính gửi {ho_ten|ông/bà}: điện lực cắt điện tại {xa} ngày 05/12 "
                 "từ 7h đến 11h.")
PUSH_TITLE, PUSH_BODY = "Thông báo", "Lịch cắt điện"


def run_stages(url: str, redis_url: str | None, folder: Path,
               stages: list[tuple[str, list[str]]], timeout: float) -> dict[str, Any]:
    """Run each (name, argv) in turn as a child on the database `url`; their results by name
    (exit, stdout, seconds, peak_mb, and `json`: the last stdout line's JSON, if any). Stops at
    the first that fails and says so in `error`."""
    env = loa_env(url, redis_url, folder / "instance")
    out: dict[str, Any] = {}
    for name, argv in stages:
        done = run_child(argv, env=env, timeout=timeout)
        out[name] = done
        if done["exit"] != 0:
            out["error"] = f"{name}: {done['stderr'][-2000:]}"
            return out
        lines = done["stdout"].strip().splitlines()
        try:
            done["json"] = json.loads(lines[-1]) if lines else {}
        except json.JSONDecodeError:
            done["json"] = {}
    return out


def stage(kind: str, *args: str) -> list[str]:
    return python_module("scripts.harness.expansion", kind, *args)


# --- the children ------------------------------------------------------------------------------

def _setup() -> None:
    from dispatch.extensions import db
    from dispatch.seed import seed_defaults

    db.create_all()
    seed_defaults()


def _communes(per_district: int) -> int:
    """`per_district` communes under each seeded district, and every contact placed in a district
    moved to one of its communes (by id), so `{xa}` has a value; contacts without a place keep
    none (their `{xa}` is missing: suppressed as missing_value). One UPDATE."""
    import sqlalchemy as sa

    from dispatch.extensions import db
    from dispatch.models import Locality

    districts = list(db.session.scalars(sa.select(Locality).where(Locality.parent_id.is_(None))))
    for d in districts:
        for i in range(per_district):
            db.session.add(Locality(code=f"{d.code}-xa-{i}", name=f"Xã {d.name.split()[-1]} {i}",
                                    kind="commune", parent_id=d.id))
    db.session.flush()
    moved = db.session.execute(sa.text(
        "UPDATE contacts AS c SET locality_id = x.id FROM localities AS x "
        "WHERE x.parent_id = c.locality_id AND x.code = "
        "(SELECT code FROM localities WHERE id = c.locality_id) || '-xa-' || (c.id % :n)"),
        {"n": per_district}).rowcount
    db.session.commit()
    return int(moved or 0)


def _devices(count: int) -> int:
    """`count` app installations, each linked to one contact's number and verified."""
    import sqlalchemy as sa

    from dispatch.extensions import db
    from dispatch.models import Contact, Device
    from dispatch.models.common import utcnow

    now = utcnow()
    numbers = list(db.session.scalars(sa.select(Contact.msisdn).order_by(Contact.id)
                                      .limit(count)))
    for start in range(0, len(numbers), 10_000):
        db.session.execute(sa.insert(Device.__table__), [
            {"installation_id": f"bench-install-{start + i:08d}",
             "fcm_token": f"bench-token-{start + i:08d}", "platform": "android",
             "topics": [], "msisdn": number, "msisdn_verified_at": now,
             "last_seen_at": now, "created_at": now}
            for i, number in enumerate(numbers[start:start + 10_000])])
    db.session.commit()
    return len(numbers)


def _prepare(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import time as dtime

    from dispatch.access import users
    from dispatch.campaigns import service, submission
    from dispatch.extensions import db
    from dispatch.models import ContactList
    from dispatch.sms import accounts as smpp_accounts

    out: dict[str, Any] = {}
    if args.communes:
        out["moved_to_communes"] = _communes(args.communes)
    if args.devices:
        out["devices"] = _devices(args.devices)
    lst = db.session.query(ContactList).filter_by(name="bench").one()
    smpp_accounts.create({"name": "all", "host": "127.0.0.1", "port": 2775, "system_id": "x",
                          "password": "x", "operators": [], "is_default": True}, actor=None)
    editor, _ = users.create_user("bench-editor", ["editor"], actor=None, password=None)
    approver, _ = users.create_user("bench-approver", ["approver"], actor=None, password=None)
    db.session.commit()
    fields: dict[str, Any] = {
        "title": "bench", "channels": args.channels, "sms_sender": "HAUGIANG",
        "sms_text": args.text, "audience": {"lists": [lst.id]},
        "window_start": dtime(0, 0), "window_end": dtime(23, 59)}
    if args.channels == "both":
        fields.update(push_title=PUSH_TITLE, push_body=PUSH_BODY, strategy=args.strategy)
        fields["audience"]["all_app_users"] = True
    c = service.create(fields, actor=editor)
    db.session.commit()
    started = time.perf_counter()
    service.submit(c, actor=editor)
    db.session.commit()
    submission.freeze(c.id)  # the job, here: freezes the audience (and marks covered numbers)
    db.session.refresh(c)
    out["submit_seconds"] = round(time.perf_counter() - started, 2)
    service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash)
    started = time.perf_counter()
    service.launch(c, actor=approver)  # compares the audience now with the frozen one
    db.session.commit()
    out["launch_seconds"] = round(time.perf_counter() - started, 2)
    reach = c.frozen_reach or {}
    out.update(campaign_id=c.id, strategy=reach.get("strategy"),
               sms=(reach.get("sms") or {}).get("recipients"),
               personal={k: (reach.get("personal") or {}).get(k)
                         for k in ("recipients", "missing_value", "parts_histogram",
                                   "cost_vnd")})
    return out


def _expand() -> dict[str, Any]:
    from sqlalchemy import func, select

    from dispatch.engine import expand
    from dispatch.extensions import db
    from dispatch.models import Campaign, Message

    campaign_id = db.session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
    backend = _backend_pid()
    db.session.commit()
    pg_before = proc_cpu_seconds(backend) if backend else 0.0
    cpu_before = _own_cpu()
    started = time.perf_counter()
    if os.environ.get("LOA_BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("expand.expand(campaign_id)", globals(), locals(),
                        os.environ["LOA_BENCH_PROFILE"])
        figures: dict[str, Any] = {}
    else:
        figures = expand.expand(campaign_id)
    seconds = time.perf_counter() - started
    cpu = _own_cpu() - cpu_before
    # The job's connection is the pool's one: the same backend unless it was replaced.
    same = backend is not None and _backend_pid() == backend
    pg_cpu = proc_cpu_seconds(backend) - pg_before if backend and same else None
    rows = db.session.scalar(select(func.count()).select_from(Message))
    return {"job_seconds": round(seconds, 1), "rows": rows, "figures": figures,
            "job_cpu_seconds": round(cpu, 1),
            "pg_cpu_seconds": None if pg_cpu is None else round(pg_cpu, 1)}


def _own_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_pid() -> int | None:
    """The PostgreSQL backend serving this session (on the same host: its CPU is readable)."""
    from sqlalchemy import text

    from dispatch.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return int(db.session.scalar(text("SELECT pg_backend_pid()")) or 0) or None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("setup", "prepare", "expand"))
    parser.add_argument("--devices", type=int, default=0)
    parser.add_argument("--communes", type=int, default=0)
    parser.add_argument("--channels", default="sms")
    parser.add_argument("--strategy", default="app_first")
    parser.add_argument("--text", default="Thong bao")
    args = parser.parse_args()
    from dispatch import create_app

    with create_app().app_context():
        if args.kind == "setup":
            _setup()
        elif args.kind == "prepare":
            print(json.dumps(_prepare(args), default=str))
        else:
            print(json.dumps(_expand(), default=str))


if __name__ == "__main__":
    main()
