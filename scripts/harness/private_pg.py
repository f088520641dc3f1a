"""A PostgreSQL cluster of the drill's own, so it can be restarted without touching anyone else's.

    with PrivatePostgres() as pg:                 # initdb + pg_ctl start, a free port
        with Stack(database_url=pg.url) as stack:
            ...
            pg.restart("fast")                    # or "immediate": crash recovery on start

The cluster lives in a temporary folder owned by the `postgres` OS user and is run as that user
(PostgreSQL refuses to run as root), listening on 127.0.0.1 only, trust authentication. The
machine's own PostgreSQL service is never touched. `stop()` stops it and deletes the folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from scripts.harness.lifetime import Started
from scripts.harness.net import free_port

BIN = Path(os.environ.get("DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"


class PrivatePostgres(Started):
    """initdb, start, restart and stop one throwaway cluster (see the module docstring)."""

    def __init__(self, os_user: str = OS_USER) -> None:
        self.os_user = os_user
        self.folder = Path(tempfile.mkdtemp(prefix="loa-drill-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.restarts = 0

    def _run(self, *argv: str, timeout: float = 120) -> None:
        as_root = os.geteuid() == 0
        subprocess.run([str(BIN / argv[0]), *argv[1:]], check=True, timeout=timeout,
                       user=self.os_user if as_root else None, cwd=self.folder,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _ctl(self, *argv: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *argv)

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        # Sockets in our folder, TCP on loopback only; enough connections for every process.
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   f"-c max_connections=200")
        self._ctl("-o", options, "start")
        return self

    def restart(self, mode: str = "fast") -> float:
        """`pg_ctl restart -m fast|immediate`; returns the seconds it took."""
        started = time.monotonic()
        self._ctl("-m", mode, "restart")
        self.restarts += 1
        return time.monotonic() - started

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):  # not running
                self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

