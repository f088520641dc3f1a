"""A whole Loa stack as child processes, each in a process group of its own, for drills and tests.

    with Stack(workers=2, fcm=True) as stack:     # a fresh PostgreSQL schema, its own Redis
        seeded = campaign.seed(stack, contacts=2000)
        cid = campaign.launch(stack, seeded)
        stack.kill("smpp")                        # SIGKILL to its whole process group
        stack.start_process("smpp")               # the same command again
        stack.redis.restart()                     # an empty Redis on the same socket
        campaign.wait_completed(stack, cid, timeout=60)

The processes are the production commands: `flask worker` (worker.1 … worker.N), `flask clock`,
`flask smpp run`, plus the stand-ins `python -m scripts.smsc` (SMSC with its HTTP control port)
and, with `fcm=True`, `python -m scripts.fcm serve`. Redis is the embedded redis-server binary
(the one scripts/test and scripts/run use) run by the stack itself, without persistence, so a
restart loses its data as a crashed Redis would.

The database is `database_url` when given; else a fresh schema in the PostgreSQL `test`
database on 127.0.0.1:5432 (DRILL_DATABASE_URL or TEST_DATABASE_URL override the server),
created here and dropped by `stop()`; `database_url="sqlite"` puts a file in the work folder.

The engine's time limits are short, so a drill ends in seconds rather than in the production
ten minutes: they go to every process as the LOA_*_SECONDS environment variables an operator
would set (see ENGINE), the only change from production.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask

from scripts.harness import ROOT, Proc, Redis, http_json, wait_for
from scripts.harness.databases import Database
from scripts.harness.lifetime import Started
from scripts.harness.standins import start_fcm, start_smsc

SMSC_ACCOUNT = ("loa", "secret")

# Claims whose process died become `unknown` after CLAIM_TIMEOUT (production: 600 s); queued push
# rows with no live job are enqueued again after ORPHAN_AFTER (60 s; SMS rows have no jobs: the
# smpp process claims them from the ledger), and a killed expansion after its
# heartbeat lapses (120 s); the receipt wait stays long so that every `unknown` in a drill comes
# from a lost claim, never from a slow receipt.
ENGINE: dict[str, Any] = {"CLAIM_TIMEOUT_SECONDS": 15, "ORPHAN_AFTER_SECONDS": 5,
                          "EXPAND_HEARTBEAT_SECONDS": 10, "RECEIPT_WAIT_SECONDS": 600}


class Stack(Started):
    """The processes of one Loa installation on this machine (see the module docstring)."""

    def __init__(self, *, workers: int = 2, fcm: bool = False, database_url: str | None = None,
                 smsc_args: tuple[str, ...] = (), fcm_args: tuple[str, ...] = (),
                 engine: dict[str, Any] | None = None,
                 smpp_poll: float = 2.0, clock_interval: float = 1.0,
                 keep: bool = False) -> None:
        self.workers = workers
        self.with_fcm = fcm
        self.database_url = database_url
        self.smsc_args = smsc_args
        self.fcm_args = fcm_args
        self.engine = {**ENGINE, **(engine or {})}
        self.smpp_poll = smpp_poll
        self.clock_interval = clock_interval
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix="loa-drill-"))
        self.procs: dict[str, Proc] = {}
        self.db: Database | None = None
        self.redis: Redis | None = None
        self.app: Flask | None = None
        self.smsc_port = self.smsc_control = self.fcm_port = 0
        self.fcm_credentials = self.workdir / "fcm" / "service-account.json"

    # -- life ------------------------------------------------------------------------------

    def start(self) -> Stack:
        self.db = Database(self.database_url, self.workdir, prefix="loa_drill")
        self.redis = Redis(self.workdir / "redis").start()
        self._start_smsc()
        if self.with_fcm:
            self._start_fcm()
        self.app = self._make_app()
        env = self.env()
        flask = [sys.executable, "-m", "flask"]
        for n in range(1, self.workers + 1):
            self._add(f"worker.{n}", [*flask, "worker"], env)
        self._add("clock", [*flask, "clock", "--interval", str(self.clock_interval)], env)
        self._add("smpp", [*flask, "smpp", "run", "--poll", str(self.smpp_poll)], env)
        for name in self.app_processes():
            self.procs[name].start()
        return self

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL), Redis and the stand-ins; drop the schema."""
        # All at once: a worker's warm shutdown and the smpp process's drain take seconds each.
        procs = list(self.procs.values())
        for proc in procs:
            proc.signal_group(signal.SIGTERM)
        for proc in procs:
            proc.stop(timeout=20)
        if self.redis is not None:
            self.redis.kill()
        if self.app is not None:
            from dispatch.extensions import db

            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()
            self.app = None
        if self.db is not None:
            self.db.drop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """The environment every Loa process of the stack gets."""
        assert self.db is not None and self.redis is not None
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LOA_ENV": "development",
               "FLASK_APP": "dispatch:create_app",
               **{f"LOA_{name}": str(value) for name, value in self.engine.items()},
               "DATABASE_URL": self.db.url, "REDIS_URL": self.redis.url,
               "LOA_INSTANCE_PATH": str(self.workdir / "instance"),
               "LOA_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        if self.with_fcm:
            env.update(LOA_FCM_CREDENTIALS=str(self.fcm_credentials),
                       LOA_FCM_ENDPOINT=f"http://127.0.0.1:{self.fcm_port}")
        return env

    def _make_app(self) -> Flask:
        """This process's own view of the installation: seeding, launching, figures."""
        from dispatch import create_app
        from dispatch.extensions import db
        from dispatch.seed import seed_defaults

        assert self.db is not None and self.redis is not None
        config = {**self.engine, "SQLALCHEMY_DATABASE_URI": self.db.url,
                  "REDIS_URL": self.redis.url, "INSTANCE_PATH": str(self.workdir / "instance"),
                  "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
        if self.with_fcm:
            config.update(FCM_CREDENTIALS=str(self.fcm_credentials),
                          FCM_ENDPOINT=f"http://127.0.0.1:{self.fcm_port}")
        app = create_app(config)
        with app.app_context():
            db.create_all()
            seed_defaults()
            db.session.commit()
        return app

    def _add(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, env, self.workdir / f"{name}.log")
        self.procs[name] = proc
        return proc

    def _start_smsc(self) -> None:
        proc, self.smsc_port, self.smsc_control = start_smsc(
            "--receipt-delay", "0.2", "--seed", "1", *self.smsc_args, account=SMSC_ACCOUNT,
            log=self.workdir / "smsc.log")
        self.procs["smsc"] = proc

    def _start_fcm(self) -> None:
        proc, self.fcm_port = start_fcm(self.fcm_credentials, *self.fcm_args,
                                        project="loa-drill", log=self.workdir / "fcm.log")
        self.procs["fcm"] = proc

    # -- processes -------------------------------------------------------------------------

    def app_processes(self) -> list[str]:
        return [n for n in self.procs if n.startswith("worker.") or n in ("clock", "smpp")]

    def worker_names(self) -> list[str]:
        return [n for n in self.procs if n.startswith("worker.")]

    def kill(self, name: str) -> None:
        """SIGKILL the process group of `name` and reap it."""
        self.procs[name].kill()

    def start_process(self, name: str) -> None:
        self.procs[name].start()

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start_process(name)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every worker has registered with RQ and, once an SMPP account exists, the
        smpp process has a bind up."""
        for name in self.worker_names():
            self.wait_worker(name, timeout)
        self.wait_smpp(timeout)

    def wait_worker(self, name: str, timeout: float = 60.0) -> None:
        """Wait until this worker process (by its pid) is registered with RQ."""
        from rq import Worker

        from dispatch.jobs.redis_conn import get_redis

        assert self.app is not None
        pid = self.procs[name].pid
        with self.app.app_context():
            conn = get_redis(self.app)
            wait_for(lambda: any(w.pid == pid for w in Worker.all(connection=conn)),
                     timeout, f"{name} registered with RQ", interval=0.2,
                     tolerate=(OSError, ValueError))

    def wait_smpp(self, timeout: float = 60.0) -> None:
        """Wait until this smpp process has every enabled account's bind up."""
        from sqlalchemy import func, select

        from dispatch.extensions import db
        from dispatch.jobs.redis_conn import get_redis
        from dispatch.models import SmppAccount
        from dispatch.sms import status

        assert self.app is not None
        pid = self.procs["smpp"].pid
        with self.app.app_context():
            accounts = db.session.scalar(select(func.count()).where(
                SmppAccount.enabled.is_(True))) or 0
            db.session.remove()
            if not accounts:
                return
            conn = get_redis(self.app)

            def bound() -> bool:
                mine = {r["account_id"] for r in status.read(conn)
                        if r["process"].endswith(f":{pid}") and r["state"] == "bound"}
                return len(mine) >= accounts
            wait_for(bound, timeout, "smpp bound", interval=0.2, tolerate=(OSError, ValueError))

    def running(self, func: str) -> list[str]:
        """The worker processes (names) whose RQ worker is running a job of `func` now, e.g.
        "dispatch.engine.expand.expand"."""
        return sorted(self.current_jobs(func))

    def current_jobs(self, func: str) -> dict[str, Any]:
        """Worker process name -> the RQ job of `func` it is running now."""
        from rq import Worker

        from dispatch.jobs.redis_conn import get_redis

        assert self.app is not None
        by_pid = {proc.pid: name for name, proc in self.procs.items()
                  if name.startswith("worker.") and proc.alive}
        with self.app.app_context():
            found = {}
            for worker in Worker.all(connection=get_redis(self.app)):
                job = worker.get_current_job() if worker.pid in by_pid else None
                if job is not None and job.func_name == func:
                    found[by_pid[worker.pid]] = job
            return found

    def check_alive(self) -> None:
        """Raise when a process died that nobody killed (its log tail says why)."""
        for proc in self.procs.values():
            if proc.popen is not None and not proc.alive and proc.popen.returncode != -9:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n"
                                   f"{proc.tail()}")

    # -- the stand-ins' counters -----------------------------------------------------------

    def smsc_stats(self) -> dict[str, Any]:
        return dict(http_json(f"http://127.0.0.1:{self.smsc_control}/stats"))

    def smsc_received(self) -> list[dict[str, Any]]:
        return list(http_json(f"http://127.0.0.1:{self.smsc_control}/received", timeout=60))

    def fcm_counters(self) -> dict[str, Any]:
        return dict(http_json(f"http://127.0.0.1:{self.fcm_port}/_standin/counters"))
