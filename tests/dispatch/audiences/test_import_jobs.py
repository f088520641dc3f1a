"""Imports as jobs on a real `flask worker --burst` process: progress while it runs, cancelling
a running import, and the clock failing one whose worker was killed. Nothing half-written."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.audiences import import_jobs
from dispatch.engine import clock
from dispatch.extensions import db
from dispatch.models import Contact, ListMember
from scripts.harness import wait_for

ROOT = Path(__file__).resolve().parents[3]
ROWS = 150_000


def _csv(rows: int = ROWS) -> bytes:
    lines = ["so_dien_thoai,ho_ten"] + [f"096{i:07d},Người {i}" for i in range(rows)]
    lines[10] = "0912abc,Sai"
    return "\n".join(lines).encode()


@pytest.fixture()
def start_worker(app: Any, tmp_path: Path) -> Iterator[Any]:
    """`flask worker --burst` as a process of its own, on the test's database and Redis."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "FLASK_APP": "dispatch:create_app", "LOA_ENV": "development",
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "REDIS_URL": app.config["REDIS_URL"],
               "LOA_INSTANCE_PATH": app.config["INSTANCE_PATH"],
               "LOA_IMPORT_HEARTBEAT_SECONDS": "2", "LOA_IMPORT_BATCH_SIZE": "1000"}
        with open(tmp_path / "worker.log", "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "worker", "--burst"],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _upload(api: Any, people: dict[str, Any]) -> tuple[Any, int]:
    editor = api.as_(people["editor"])
    list_id = editor.post("/api/lists", json={"name": f"L {time.time()}"}).json["id"]
    sent = editor.post(f"/api/lists/{list_id}/imports",
                       data={"file": (io.BytesIO(_csv()), "danh-ba.csv")},
                       content_type="multipart/form-data")
    assert sent.status_code == 202 and sent.json["status"] == "queued", sent.json
    return editor, sent.json["id"]


def _running(editor: Any, import_id: int) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        body = editor.get(f"/api/imports/{import_id}").json
        progress = body["progress"]
        return body if progress and progress["rows_read"] > 0 else None

    return wait_for(seen, timeout=60)


def _nothing_written() -> None:
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    assert db.session.scalar(select(func.count()).select_from(ListMember)) == 0


def test_progress_shows_while_it_runs_and_the_upload_is_deleted_after(
        api, people, start_worker, backend):
    editor, import_id = _upload(api, people)
    assert import_jobs.upload_path(import_id).exists()
    start_worker()
    running = _running(editor, import_id)
    assert running["status"] == "running"
    progress = running["progress"]
    assert 0 < progress["rows_read"] < ROWS and progress["refused"] <= 1
    assert progress["imported"] <= progress["rows_read"]
    done = wait_for(lambda: (b := editor.get(f"/api/imports/{import_id}").json)["status"]
                    != "running" and b, timeout=120)
    assert (done["status"], done["imported_rows"], done["error_rows"]) == (
        "completed", ROWS - 1, 1)
    # Deleted once the record has ended (just after its commit).
    assert wait_for(lambda: not import_jobs.upload_path(import_id).exists())
    refused = editor.get(f"/api/imports/{import_id}/refused.csv")
    assert refused.get_data().decode("utf-8-sig").splitlines()[1].startswith("0912abc,Sai,")


def test_a_running_import_is_cancelled_and_leaves_nothing(api, people, start_worker, backend):
    editor, import_id = _upload(api, people)
    start_worker()
    _running(editor, import_id)
    asked = editor.post(f"/api/imports/{import_id}/cancel")
    # Asked; the job may have stopped already by the time the answer is written.
    assert asked.status_code == 202, asked.json
    assert (asked.json["status"] == "cancelled"
            or asked.json["progress"]["cancel_requested"] is True), asked.json
    done = wait_for(lambda: (b := editor.get(f"/api/imports/{import_id}").json)["status"]
                    != "running" and b, timeout=60)
    assert done["status"] == "cancelled" and done["refused_rows_available"] is False
    _nothing_written()
    assert wait_for(lambda: not import_jobs.upload_path(import_id).exists())
    again = editor.post(f"/api/imports/{import_id}/cancel")
    assert again.status_code == 409 and again.json["code"] == "conflict"


def test_an_import_whose_worker_was_killed_is_failed_by_the_clock(
        app, api, people, start_worker, backend, monkeypatch):
    editor, import_id = _upload(api, people)
    proc = start_worker()
    _running(editor, import_id)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    monkeypatch.setitem(app.config, "IMPORT_HEARTBEAT_SECONDS", 2)
    # The heartbeat lapses two seconds after the last batch; then the clock ends the import.
    assert wait_for(lambda: clock.tick(app.config).get("import_failed") == 1, timeout=30)
    done = editor.get(f"/api/imports/{import_id}").json
    assert done["status"] == "failed" and "worker running the import stopped" in done["message"]
    _nothing_written()
    assert not import_jobs.upload_path(import_id).exists()
    assert "import_failed" not in clock.tick(app.config)


def test_a_queued_import_is_cancelled_at_once_and_its_job_does_nothing(
        api, people, start_worker, backend):
    editor, import_id = _upload(api, people)
    cancelled = editor.post(f"/api/imports/{import_id}/cancel")
    assert cancelled.status_code == 202 and cancelled.json["status"] == "cancelled"
    assert not import_jobs.upload_path(import_id).exists()
    start_worker().wait(60)
    assert editor.get(f"/api/imports/{import_id}").json["status"] == "cancelled"
    _nothing_written()
