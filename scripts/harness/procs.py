"""Child processes: each in a session of its own, so a signal reaches what it started and nothing
else, reaped with `os.wait4`, which gives its own peak RSS and CPU whatever else the machine runs.
While it runs, `/proc` gives the same figures so far."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


def loa_env(database_url: str, redis_url: str | None, instance: Path,
            **extra: str) -> dict[str, str]:
    """The environment a Loa process gets from the Procfile's host, pointed at these services
    (without REDIS_URL when `redis_url` is None)."""
    env = dict(os.environ, DATABASE_URL=database_url, LOA_INSTANCE_PATH=str(instance),
               FLASK_APP="dispatch:create_app", PYTHONPATH=str(ROOT), **extra)
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    env.pop("LOA_IMPORT_BATCH_SIZE", None)
    return env


def python_module(*args: str) -> list[str]:
    """argv running `python -m …` with this interpreter (the project's venv)."""
    return [sys.executable, "-m", *args]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (all its threads) so far; 0 when it is gone."""
    seconds = live_cpu_seconds(pid)
    return 0.0 if seconds is None else seconds


def live_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a live process so far; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
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


class Proc:
    """A long-running child (a Procfile process, a stand-in, redis-server) in its own process
    group, its output appended to `log` (or discarded). `start()` again after it exited or was
    killed runs the same command again (a restart); `stop()` is what a process manager does:
    SIGTERM to the group, SIGKILL after the grace."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started = 0.0  # perf_counter at the last start
        self.usage: Any = None  # the rusage of the last run, once reaped
        self.result: dict[str, Any] | None = None  # what stop() found

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    @property
    def alive(self) -> bool:
        return self.popen is not None and not self._reaped()

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has exited (-9 when SIGKILLed); None while it runs."""
        if self.popen is None or not self._reaped():
            return None
        return self.popen.returncode

    def start(self) -> Proc:
        if self.alive:
            raise RuntimeError(f"{self.name} is running already")
        self.starts += 1
        self.usage = self.result = None
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log:
            out = open(self.log, "ab")  # noqa: SIM115 (closed below; the child keeps its copy)
        try:
            if not isinstance(out, int):
                out.write(f"\n=== start {self.starts} at {time.strftime('%H:%M:%S')}\n".encode())
                out.flush()
            self.started = time.perf_counter()
            # A session of its own: the process group id is its pid, so a kill reaches every
            # process it started and nothing else.
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if not isinstance(out, int):
                out.close()  # the child holds its own copy
        return self

    def signal_group(self, sig: int) -> None:
        if self.alive:
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: no handler runs, nothing is drained or put back."""
        self.signal_group(signal.SIGKILL)
        self._wait(time.monotonic() + 10)

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int | None:
        """SIGTERM (or `sig`), then SIGKILL after `timeout` s; returns the exit status. `result`
        then holds it, whether it had to be killed, its peak RSS and CPU seconds."""
        if self.popen is None:
            return None
        if self.result is None:
            killed = False
            if self.alive:
                self.signal_group(sig)
            if not self._wait(time.monotonic() + timeout):
                killed = True
                self.kill()
            usage = self.usage
            self.result = {"exit": self.popen.returncode, "killed": killed,
                           "peak_mb": round(usage.ru_maxrss / 1024, 1) if usage else None,
                           "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1) if usage
                           else None}
        return self.popen.returncode

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid) if self.alive and self.pid else 0.0

    def peak_mb(self) -> float:
        return proc_peak_mb(self.pid) if self.alive and self.pid else 0.0

    def tail(self, lines: int = 30) -> str:
        """The last lines of its log."""
        try:
            text = self.log.read_text(errors="replace") if self.log else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _reaped(self) -> bool:
        """Whether it has exited; reaps it then, keeping its rusage."""
        assert self.popen is not None
        if self.popen.returncode is not None:
            return True
        try:
            pid, status, usage = os.wait4(self.popen.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (Popen.poll): its status is lost
            if self.popen.poll() is None:
                self.popen.returncode = 0
            return True
        if not pid:
            return False
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        self.usage = usage
        return True

    def _wait(self, deadline: float) -> bool:
        """Wait until it has exited (True) or `deadline` passes (False)."""
        while not self._reaped():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


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
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "stdout": out.get("stdout", ""), "stderr": out.get("stderr", "")}
