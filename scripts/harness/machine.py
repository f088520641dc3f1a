"""The machine and the code a figure was measured on, written next to every benchmark result."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from scripts.harness.procs import ROOT

WORK = Path(tempfile.gettempdir()) / "loa-bench"  # benchmarks' generated files and results


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
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "load": os.getloadavg()}


def code_version() -> str:
    """The commit the code under test is at, and whether the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no")
               .splitlines()]
    return git("rev-parse", "--short", "HEAD").strip() + (
        f" with uncommitted changes to {', '.join(changed)}" if changed else "")
