"""The README's walkthrough, run exactly as written against `scripts/run` with its demo seeded:
the shell blocks between the walkthrough markers, in one shell, in a fresh folder (its `.venv`
the project's), with only the address changed to this run's free port."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.scripts.test_run import FOREIGN, free_port, stack_processes, wait_for

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "http://127.0.0.1:5000"


def walkthrough() -> str:
    """The fenced sh blocks between `<!-- walkthrough` and `<!-- /walkthrough -->`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- walkthrough")
    section = text[start:text.index("<!-- /walkthrough -->", start)]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) >= 3, "the walkthrough's shell blocks"
    return "\n".join(blocks)


def answers(output: str) -> list[dict[str, Any]]:
    """Every JSON object the commands printed (curl prints no newline after one)."""
    found = []
    decoder = json.JSONDecoder()
    at = output.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(output, at)
        except ValueError:
            at = output.find("{", at + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        at = output.find("{", end)
    return found


def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    script = walkthrough()
    instance = tmp_path / "instance"
    web = free_port()
    base = f"http://127.0.0.1:{web}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(LOA_INSTANCE_PATH=str(instance), LOA_BIND=f"127.0.0.1:{web}",
               LOA_SMSC_PORT=str(free_port()), LOA_SMSC_CONTROL_PORT=str(free_port()),
               LOA_FCM_PORT=str(free_port()), WEB_CONCURRENCY="1")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "scripts/run")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    reader = tmp_path / "reader"  # a folder of the reader's own, the project's .venv in it
    reader.mkdir()
    (reader / ".venv").symlink_to(ROOT / ".venv")
    try:
        wait_for(lambda: urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200,
                 120, "the web process answering /healthz", log)
        assert "campaign 1 approved, ready" in log.read_text()
        # gunicorn's control socket is this installation's, not ~/.gunicorn's
        assert (instance / "gunicorn.ctl").is_socket()
        ran = subprocess.run(["bash", "-e", "-c", script.replace(ADDRESS, base)], cwd=reader,
                             env=env, capture_output=True, text=True, timeout=120)
        said = ran.stdout + ran.stderr
        assert ran.returncode == 0, said[-3000:]
        replies = answers(ran.stdout)
        refused = [r for r in replies if isinstance(r.get("status"), int) and r["status"] >= 400]
        assert refused == [], refused
        demo_launch = replies[0]
        assert demo_launch["id"] == 1 and demo_launch["status"] in ("sending", "launching")
        report = next(r for r in replies if "imported_rows" in r)
        assert report["status"] == "completed"
        assert (report["imported_rows"], report["error_rows"]) == (2, 1), report
        assert report["errors"][0]["value"] == "0292 3870 123"
        assert "lý do" in (reader / "refused.csv").read_text(encoding="utf-8-sig")
        preview = next(r for r in replies if "sms" in r and isinstance(r["sms"], dict))
        assert preview["sms"]["original"]["forcing_char"] == "ừ"  # as the README says
        progress = replies[-1]
        assert progress["campaign_id"] != 1 and progress["status"] == "sending", progress
        assert progress["total"] in (0, 2)  # 0 while its expansion job has not run yet
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        deadline = time.monotonic() + 10
        while stack_processes(instance) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in stack_processes(instance):  # never leave a stack running behind a test
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
