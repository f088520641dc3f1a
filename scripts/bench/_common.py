"""What several benchmarks share: the machine, fresh PostgreSQL databases, child processes.

A child runs in a session of its own (so stopping it stops what it started), with its output in
a log file or captured, and is reaped with `os.wait4`, which gives its own peak RSS and CPU time
whatever else the machine runs. While it runs, `/proc` gives the same figures so far.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(tempfile.gettempdir()) / "loa-bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
            "python": platform.python_version()}


def code_version() -> str:
    """The commit the code under test is at, and whether the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no")
               .splitlines()]
    return git("rev-parse", "--short", "HEAD").strip() + (
        f" with uncommitted changes to {', '.join(changed)}" if changed else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting: {what}")
        time.sleep(interval)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


# --- a PostgreSQL database of its own ---------------------------------------------------------

def pg_base() -> str:
    """The server to create databases on (TEST_DATABASE_URL, default the local `test` one)."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if "+" not in url else url


def fresh_pg_database(prefix: str = "loa_bench") -> tuple[str, str, Callable[[], None]]:
    """CREATE DATABASE with a new name; returns (url, name, drop). `drop` ends whatever
    connections are left (a killed child's) and drops it."""
    import sqlalchemy as sa

    base = sa.engine.make_url(pg_base())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), name, drop


# --- children -----------------------------------------------------------------------------------

def loa_env(database_url: str, redis_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment a Loa process gets from the Procfile's host, pointed at these services."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url,
               LOA_INSTANCE_PATH=str(instance), FLASK_APP="dispatch:create_app",
               PYTHONPATH=str(ROOT), **extra)
    env.pop("LOA_IMPORT_BATCH_SIZE", None)
    return env


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (all its threads) so far; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a live process so far; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


class Child:
    """A long-running child (a Procfile process, a stand-in), stopped with SIGTERM like a
    process manager stops it, then SIGKILL after `grace` seconds."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        handle: IO[bytes] | int = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not isinstance(handle, int):
            handle.close()  # the child holds its own copy
        self.result: dict[str, Any] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        """Whether it still runs; does not reap it (stop() reaps it and keeps its rusage)."""
        if self.result is not None:
            return False
        return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def peak_mb(self) -> float:
        return proc_peak_mb(self.pid)

    def tail(self, chars: int = 2000) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, grace: float = 30.0, sig: int = signal.SIGTERM) -> dict[str, Any]:
        """Signal its process group (SIGTERM), reap it; returns exit code, whether it had to be
        killed, its peak RSS and CPU seconds (rusage of the reaped process)."""
        if self.result is not None:
            return self.result
        killed = False
        if self.alive():
            self._signal(sig)
        code, usage = self._reap(time.monotonic() + grace)
        if code is None:
            killed = True
            self._signal(signal.SIGKILL)
            code, usage = self._reap(time.monotonic() + 10)
        self.result = {"exit": code, "killed": killed,
                       "peak_mb": round(usage.ru_maxrss / 1024, 1) if usage else None,
                       "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1) if usage
                       else None}
        return self.result

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def _reap(self, deadline: float) -> tuple[int | None, Any]:
        """(exit code, rusage) once it has exited; (None, None) if it still runs at `deadline`."""
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode, usage
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.05)


def run_child(argv: list[str], *, env: dict[str, str] | None = None,
              timeout: float) -> dict[str, Any]:
    """Run a child to its end (killed after `timeout` s); its output, wall time, peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    out: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:  # so a chatty child never blocks on a full pipe
        out[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("stdout", child.stdout), ("stderr", child.stderr))]
    for reader in readers:
        reader.start()
    deadline = started + timeout
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


def python_module(*args: str) -> list[str]:
    """argv running `python -m …` with this interpreter (the project's venv)."""
    return [sys.executable, "-m", *args]
