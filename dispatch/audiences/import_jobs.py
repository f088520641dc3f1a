"""Imports as background jobs: the stored upload, the job, its progress, cancelling, the clock.

An upload is streamed to disk under the instance folder (`imports/<id>.upload`), its record
committed as `queued`, then the job enqueued (DESIGN.md invariant 2); the job takes the import
id and does nothing unless it moves the record from `queued` to `running` itself, so a second
run is harmless. While it runs it keeps a heartbeat in Redis that also carries its progress
(rows read, imported, refused); a `running` import whose heartbeat lapsed belongs to a dead
worker, and the clock marks it failed. Cancelling a queued import ends it at once; a running one
is asked through Redis and stops at its next WATCH_EVERY rows, its transaction undone (imports
are all or nothing). The refused rows stay as `imports/<id>.refused.csv`; the upload is deleted
when the import ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from dispatch import jobs
from dispatch.audiences import importer, refusals
from dispatch.campaigns import audit
from dispatch.errors import Conflict
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import ContactImport, ContactList, User
from dispatch.models.common import utcnow

log = logging.getLogger(__name__)

JOB = "dispatch.audiences.import_jobs.run_import"
QUEUE = "low"  # a long import must not hold up expansions and push batches
ACTIVE = ("queued", "running")
_LIVE_JOB = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def folder() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "imports"


def upload_path(import_id: int) -> Path:
    return folder() / f"{import_id}.upload"


def refused_path(import_id: int) -> Path:
    return folder() / f"{import_id}.refused.csv"


def _job_id(import_id: int) -> str:
    return f"import-{import_id}"


# --- starting ------------------------------------------------------------------------------

def submit(stream: IO[bytes], filename: str, contact_list: ContactList,
           actor: User | None) -> ContactImport:
    """Store the upload (streamed to disk), commit its `queued` record, then enqueue the job."""
    folder().mkdir(parents=True, exist_ok=True)
    partial = folder() / f"incoming-{utcnow():%Y%m%d%H%M%S%f}-{id(stream):x}.part"
    try:
        with partial.open("wb") as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        record = ContactImport(list_id=contact_list.id, filename=(filename or "upload")[:255],
                               created_by_id=actor.id if actor else None, status="queued")
        db.session.add(record)
        db.session.commit()
        partial.replace(upload_path(record.id))
    finally:
        partial.unlink(missing_ok=True)
    enqueue(record.id)
    return record


def enqueue(import_id: int) -> None:
    jobs.queue(QUEUE).enqueue(JOB, import_id, job_id=_job_id(import_id), job_timeout=4 * 3600,
                              description=f"import {import_id}")


# --- the job -------------------------------------------------------------------------------

@jobs.in_app_context
def run_import(import_id: int) -> str:
    """Run a queued import; do nothing for one that another run took or that has ended."""
    record = db.session.get(ContactImport, import_id)
    if record is None or record.status != "queued":
        return "skipped"
    path = upload_path(import_id)
    if not path.exists():
        _end(import_id, "failed", "The uploaded file was lost before the import started: "
                                  "import it again.")
        return "failed"
    _beat(import_id, {"rows_read": 0, "imported": 0, "refused": 0, "position": 0, "size": 0})
    claimed = db.session.execute(
        update(ContactImport).where(ContactImport.id == import_id,
                                    ContactImport.status == "queued")
        .values(status="running", started_at=utcnow()))
    db.session.commit()
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return "skipped"
    actor = db.session.get(User, record.created_by_id) if record.created_by_id else None
    contact_list = db.session.get(ContactList, record.list_id)
    try:
        if contact_list is None:
            return _end(import_id, "failed", "The list was deleted.").status
        with path.open("rb") as stream:
            done = importer.import_file(
                stream, record.filename, contact_list, actor=actor, record_id=import_id,
                watch=lambda report, position, size: watch(import_id, report, position, size),
                refused_path=refused_path(import_id))
        return done.status
    finally:
        path.unlink(missing_ok=True)
        _forget_state(import_id)


def run_inline(stream: IO[bytes], filename: str, contact_list: ContactList, actor: User | None,
               **kwargs: Any) -> ContactImport:
    """Import in this process (the CLI), with the job's heartbeat so the clock leaves it be."""
    record = ContactImport(list_id=contact_list.id, filename=(filename or "upload")[:255],
                           created_by_id=actor.id if actor else None, status="running")
    db.session.add(record)
    db.session.commit()
    import_id = record.id
    _beat(import_id, {"rows_read": 0, "imported": 0, "refused": 0, "position": 0, "size": 0})
    try:
        return importer.import_file(
            stream, filename, contact_list, actor=actor, record_id=import_id,
            watch=lambda report, position, size: watch(import_id, report, position, size),
            refused_path=refused_path(import_id), **kwargs)
    finally:
        _forget_state(import_id)


def watch(import_id: int, report: Any, position: int, size: int) -> None:
    """Publish the progress (it is also the heartbeat); stop when cancelling was asked."""
    _beat(import_id, {"rows_read": report.total, "imported": report.imported,
                      "refused": report.error_rows, "position": position, "size": size})
    try:
        cancelled = bool(get_redis().exists(keys.import_cancel(import_id)))
    except RedisError:
        return
    if cancelled:
        raise importer.ImportCancelled


def _beat(import_id: int, figures: dict[str, int]) -> None:
    ttl = int(current_app.config["IMPORT_HEARTBEAT_SECONDS"])
    try:
        get_redis().set(keys.import_progress(import_id), json.dumps(figures), ex=ttl)
    except RedisError as exc:  # a Redis restart must not fail the import; the clock may
        log.warning("import %s: heartbeat not stored (%s)", import_id, exc)


def _forget_state(import_id: int) -> None:
    with contextlib.suppress(RedisError):  # else both expire by themselves
        get_redis().delete(keys.import_progress(import_id), keys.import_cancel(import_id))


def progress(import_id: int) -> dict[str, Any] | None:
    """The running import's last published figures, or None."""
    try:
        raw = get_redis().get(keys.import_progress(import_id))
        cancelling = bool(get_redis().exists(keys.import_cancel(import_id)))
    except RedisError:
        return None
    if raw is None:
        return None
    return {**json.loads(raw), "cancel_requested": cancelling}


def describe(record: ContactImport) -> dict[str, Any]:
    """The record as the API and the page show it: live figures while it runs."""
    view = {column.key: getattr(record, column.key)
            for column in ContactImport.__table__.columns}
    view["progress"] = progress(record.id) if record.status == "running" else None
    view["refused_rows_available"] = refused_path(record.id).exists() and record.error_rows > 0
    # A refusal of the file is stored as its code: the API gives the code, its values and
    # its English sentence (`message` stays the sentence, as before).
    view["refusal"] = refusals.describe(record.message)
    view["message"] = refusals.text(record.message)
    return view


def refused_rows(record: ContactImport, translate: Any) -> Any:
    """The refused-rows CSV, streamed, its reasons put through `translate` (the reader's
    language); NotFound when the import refused no row or its file is gone."""
    import csv
    import io

    from dispatch.errors import NotFound

    path = refused_path(record.id)
    if record.error_rows == 0 or not path.exists():
        raise NotFound(f"Import {record.id} has no refused rows to download.")

    def body() -> Any:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            out = io.StringIO()
            writer = csv.writer(out)
            out.write("\ufeff")  # Excel reads the CSV as UTF-8 only with the BOM
            for n, cells in enumerate(csv.reader(handle)):
                if n and cells:
                    cells[-1] = "; ".join(translate(r) for r in cells[-1].split("; "))
                writer.writerow(cells)
                if out.tell() > 64 * 1024:
                    yield out.getvalue().encode("utf-8")
                    out.seek(0)
                    out.truncate()
            yield out.getvalue().encode("utf-8")

    return body()


# --- cancelling ----------------------------------------------------------------------------

def cancel(record: ContactImport, actor: User | None) -> ContactImport:
    """End a queued import now; ask a running one to stop (it does within WATCH_EVERY rows)."""
    db.session.refresh(record)
    if record.status == "queued":
        ended = importer._ended(record.id, "cancelled",
                                "Cancelled before it started: nothing was imported.", actor,
                                was=("queued",))
        if ended.status == "cancelled":
            upload_path(record.id).unlink(missing_ok=True)
            return ended
        record = ended
    if record.status == "running":
        get_redis().set(keys.import_cancel(record.id), "1",
                        ex=int(current_app.config["IMPORT_HEARTBEAT_SECONDS"]) * 10)
        audit.record("contacts.import_cancel", "contact_list", record.list_id, actor=actor,
                     details={"import_id": record.id})
        db.session.commit()
        return record
    raise Conflict(f"Import {record.id} has already ended ({record.status}).")


def _end(import_id: int, status: str, message: str,
         actor: User | None = None) -> ContactImport:
    return importer._ended(import_id, status, message, actor)


def end_record(import_id: int, status: str, message: str, actor: User | None = None,
               was: tuple[str, ...] = ACTIVE) -> ContactImport:
    return importer._ended(import_id, status, message, actor, was)


# --- the clock -----------------------------------------------------------------------------

def check_stalled(config: dict[str, Any]) -> dict[str, int]:
    """Fail running imports whose heartbeat lapsed; re-enqueue queued ones whose job is gone."""
    done = {"import_failed": 0, "import_requeued": 0}
    redis = get_redis()
    waited = utcnow() - timedelta(seconds=int(config["ORPHAN_AFTER_SECONDS"]))
    for record in db.session.scalars(select(ContactImport).where(
            ContactImport.status.in_(ACTIVE))).all():
        if record.status == "running":
            if redis.exists(keys.import_progress(record.id)):
                continue
            seconds = int(config["IMPORT_HEARTBEAT_SECONDS"])
            ended = end_record(record.id, "failed",
                               f"The worker running the import stopped (no heartbeat for "
                               f"{seconds} s): nothing was imported. Import the file again.",
                               was=("running",))
            if ended.status == "failed":
                upload_path(record.id).unlink(missing_ok=True)
                refused_path(record.id).unlink(missing_ok=True)
                done["import_failed"] += 1
            continue
        if record.started_at > waited:
            continue
        job = Job.fetch_many([_job_id(record.id)], connection=redis)[0]
        if job is not None and job.get_status(refresh=False) in _LIVE_JOB:
            continue
        if upload_path(record.id).exists():
            enqueue(record.id)
            done["import_requeued"] += 1
        elif end_record(record.id, "failed", "The uploaded file was lost before the import "
                        "started: import it again.", was=("queued",)).status == "failed":
            done["import_failed"] += 1
    return {k: v for k, v in done.items() if v}
