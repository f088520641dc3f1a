"""The stand-ins as child processes: the SMSC (`python -m scripts.smsc`, SMPP plus an HTTP
control port) and the FCM endpoint (`python -m scripts.fcm serve`), each waited for until it
answers."""

from __future__ import annotations

import os
from pathlib import Path

from scripts.harness.net import free_port, http_json, listening
from scripts.harness.procs import ROOT, Proc, python_module
from scripts.harness.waiting import wait_for


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def start_smsc(*args: str, account: tuple[str, str] = ("loa", "secret"),
               log: Path | None = None, name: str = "smsc") -> tuple[Proc, int, int]:
    """The SMSC stand-in on two free ports, `args` passed on (e.g. "--receipt-delay", "0");
    returns (process, SMPP port, control port) once both listen."""
    port, control = free_port(), free_port()
    proc = Proc(name, python_module(
        "scripts.smsc", "--port", str(port), "--control-port", str(control),
        "--account", ":".join(account), *args), _env(), log).start()
    try:
        wait_for(lambda: listening(port) and listening(control), 15, "the SMSC stand-in")
    except TimeoutError:
        proc.kill()
        raise
    return proc, port, control


def start_fcm(service_account: Path, *args: str, project: str = "loa-bench",
              log: Path | None = None, name: str = "fcm") -> tuple[Proc, int]:
    """The FCM stand-in on a free port; it writes the service-account file that points a
    PushGateway at it. Returns (process, port) once it answers."""
    port = free_port()
    proc = Proc(name, python_module(
        "scripts.fcm", "serve", "--port", str(port), "--project", project,
        "--service-account", str(service_account), *args), _env(), log).start()
    try:
        wait_for(lambda: service_account.exists()
                 and http_json(f"http://127.0.0.1:{port}/_standin/counters") is not None,
                 15, "the FCM stand-in", tolerate=(OSError, ValueError))
    except TimeoutError:
        proc.kill()
        raise
    return proc, port
