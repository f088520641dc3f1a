"""`scripts/run` as a newcomer uses it: the whole service on embedded defaults delivers the demo
campaign through the SMSC and FCM stand-ins, and a SIGTERM stops every process, Redis last."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Settings a developer's shell or the test run may carry that would take the service elsewhere.
FOREIGN = ("REDIS_URL", "DATABASE_URL", "LOA_FCM_CREDENTIALS", "LOA_FCM_ENDPOINT",
           "GOOGLE_APPLICATION_CREDENTIALS", "FLASK_APP", "LOA_TESTING")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout} s; scripts/run said:\n"
                         f"{log.read_text(errors='replace')[-4000:]}")


def call(url: str, token: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url, method=method,
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stack_processes(instance: Path) -> list[int]:
    """Every live process started for this run: they all carry its LOA_INSTANCE_PATH (honcho
    gives each of its processes a process group of its own, so the group does not find them)."""
    marker = f"LOA_INSTANCE_PATH={instance}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                stat = (environ.parent / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":  # reaped later by its parent
                    found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def test_the_demo_campaign_is_delivered_and_everything_stops(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    web = free_port()
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(LOA_INSTANCE_PATH=str(instance), LOA_BIND=f"127.0.0.1:{web}",
               LOA_SMSC_PORT=str(free_port()), LOA_SMSC_CONTROL_PORT=str(free_port()),
               LOA_FCM_PORT=str(free_port()), WEB_CONCURRENCY="1")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "scripts/run")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{web}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200,
                 120, "the web process answering /healthz", log)
        assert "campaign 1 approved, ready" in log.read_text()
        token = subprocess.run([str(ROOT / ".venv/bin/loa"), "tokens", "create", "pheduyet"],
                               cwd=ROOT, env=env, capture_output=True, text=True, check=True
                               ).stdout.split()[-1]
        # The demo's survey went out by itself and the SMSC stand-in answered it (the `demo`
        # process): within a minute a newcomer sees its results by locality.
        seeded = re.search(r"campaign (\d+): a survey of phase 1, launched", log.read_text())
        assert seeded, log.read_text()[-3000:]
        survey: dict = {}

        def answered() -> bool:
            report = call(f"{base}/api/campaigns/{seeded.group(1)}/report", token)
            survey.update(report["survey"] or {})
            return sum(p["answers"] for p in survey.get("by_locality", [])) > 0

        wait_for(answered, 60, "the demo survey's answers by locality", log)
        assert survey["answers"] == sum(p["answers"] for p in survey["by_locality"]) > 10
        assert "The SMSC stand-in answered the demo survey" in log.read_text()
        launched = call(f"{base}/api/campaigns/1/launch", token, "POST")
        assert launched["status"] in ("launching", "sending")
        progress: dict = {}

        def completed() -> bool:
            progress.update(call(f"{base}/api/campaigns/1/progress", token))
            return progress["status"] == "completed"

        wait_for(completed, 120, "the demo campaign completed", log)
        # Every SMS delivered with its receipt from the SMSC stand-in, every push accepted by
        # the FCM stand-in; nothing failed, nothing unknown.
        assert progress["by_channel"]["sms"] == {"delivered": progress["parts_submitted"]}
        assert set(progress["by_channel"]["push"]) == {"submitted"}
        assert progress["unsent"] == 0 and progress["final"] == progress["total"]
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        deadline = time.monotonic() + 10
        while stack_processes(instance) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = stack_processes(instance)
        for pid in left:  # never leave a stack running behind a failed test
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert proc.poll() is not None, "scripts/run did not exit on SIGTERM"
    assert left == [], f"still running after scripts/run exited: {left}"  # Redis included
    text = log.read_text(errors="replace")
    assert "sending SIGKILL" not in text, text[-3000:]  # every process stopped by itself
    assert "Redis unavailable" not in text, text[-3000:]  # Redis outlived them all
