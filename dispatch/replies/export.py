"""The inbox's export: the filtered replies as CSV or XLSX, written by an RQ job.

The rows go through the one export mechanism (`dispatch.reports.export`: `Table`, `csv_chunks`,
`xlsx_file`, formula guard, local times) into a file of the person who asked, under
`instance/replies/u<user id>/`, while the job counts its progress in the `pending` file beside
it (`{"asked": ..., "done": n, "total": N}`). A page or request only asks and then polls
(invariant 10). Numbers are masked unless the person holds `reply.unmask` and asked for them;
such an export is audited like every other unmasked view.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from dispatch import jobs
from dispatch.audiences.msisdn import display
from dispatch.campaigns import audit
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, Locality, User
from dispatch.models.replies import Reply
from dispatch.ops.files import private_dir
from dispatch.replies import inbox
from dispatch.reports import export

log = logging.getLogger(__name__)

JOB = "dispatch.replies.export.make_export"
QUEUE = "low"
KEEP = 5
BATCH = 2000
FORMATS = ("csv", "xlsx")
_NAME = re.compile(r"^\d{8}-\d{6}-\d{6}\.(csv|xlsx)$")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Mã phản hồi"),
    ("received_at", f"Nhận lúc ({export.TIME})"),
    ("phone", "Số điện thoại"),
    ("channel", "Kênh"),
    ("operator", "Nhà mạng"),
    ("locality", "Địa bàn"),
    ("campaign", "Chiến dịch"),
    ("kind", "Loại"),
    ("text", "Nội dung"),
    ("label", "Nhãn"),
    ("state", "Trạng thái"),
    ("assigned_to", "Người phụ trách"),
    ("note", "Ghi chú nội bộ"),
)
_TIMES = (1,)
_TEXT = (2, 5, 6, 8, 9, 11, 12)


def folder(user_id: int) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "replies" / f"u{int(user_id)}"


@dataclass(frozen=True)
class Stored:
    name: str
    made_at: datetime
    size: int


def stored(user_id: int) -> list[Stored]:
    where = folder(user_id)
    if not where.is_dir():
        return []
    out = []
    for path in where.iterdir():
        if _NAME.match(path.name):
            made = datetime.strptime(path.name.split(".")[0], "%Y%m%d-%H%M%S-%f")
            out.append(Stored(path.name, made.replace(tzinfo=UTC).astimezone(local_zone()),
                              path.stat().st_size))
    return sorted(out, key=lambda s: s.name, reverse=True)


def path_of(user_id: int, name: str) -> Path | None:
    """The stored export `name` of the user, or None (never a path outside their folder)."""
    if not _NAME.match(name):
        return None
    path = folder(user_id) / name
    return path if path.is_file() else None


def pending(user_id: int) -> dict[str, Any] | None:
    """The export being written for the user: when asked, rows done and in all (or None)."""
    try:
        state = json.loads((folder(user_id) / "pending").read_text())
    except (OSError, ValueError):
        return None
    asked = datetime.fromisoformat(state["asked"])
    if (datetime.now(UTC) - asked).total_seconds() > 3600:  # its job died
        return None
    return state | {"asked": asked.astimezone(local_zone())}


def request_export(filters: inbox.Filters, fmt: str, actor: User, *, unmask: bool,
                   words: dict[str, Any]) -> None:
    """Ask for an export (audited, committed), then enqueue the job that writes it.

    `words` are the codes in the reader's words (kinds, states, channels, operators),
    translated by the caller while it can.
    """
    if unmask:
        inbox.demand_unmask(actor)
    inbox.check(filters)
    audit.record(inbox.UNMASK if unmask else "report.export", "reply", None, actor=actor,
                 details={"export": "replies", "format": fmt, "filter": filters.plain(),
                          "unmasked": unmask})
    db.session.commit()
    where = private_dir(folder(actor.id))
    marker = where / "pending"
    marker.write_text(json.dumps({"asked": datetime.now(UTC).isoformat(), "done": 0,
                                  "total": None, "format": fmt}))
    try:
        jobs.queue(QUEUE).enqueue(JOB, actor.id, filters.plain(), fmt, unmask, words,
                                  job_timeout=1800, description=f"replies export u{actor.id}")
    except BaseException:
        marker.unlink(missing_ok=True)
        raise


@jobs.in_app_context
def make_export(user_id: int, plain: dict[str, Any], fmt: str, unmask: bool,
                words: dict[str, Any]) -> str:
    """Job: write the export; return its file name. Running twice writes two whole files."""
    filters = inbox.Filters.from_plain(plain)
    person = db.session.get(User, user_id)
    show = unmask and person is not None and inbox.may_unmask(person)
    where = private_dir(folder(user_id))
    marker = where / "pending"
    state = json.loads(marker.read_text()) if marker.is_file() else {
        "asked": datetime.now(UTC).isoformat(), "format": fmt}
    total = db.session.scalar(inbox.query(filters).with_only_columns(
        db.func.count()).order_by(None)) or 0

    def progress(done: int) -> None:
        marker.write_text(json.dumps(state | {"done": done, "total": total}))

    table = export.Table(COLUMNS, _rows(filters, show, words, progress), times=_TIMES,
                         text=_TEXT, readable=True)
    name = f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}.{fmt}"
    partial = where / f".{name}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        if fmt == "xlsx":
            handle = export.xlsx_file(table, "Phản hồi", folder=str(where))
            for chunk in export.file_chunks(handle):
                out.write(chunk)
        else:
            for chunk in export.csv_chunks(table):
                out.write(chunk)
    partial.replace(where / name)
    marker.unlink(missing_ok=True)
    for old in stored(user_id)[KEEP:]:
        (where / old.name).unlink(missing_ok=True)
    log.info("replies export u%s/%s written (%d rows)", user_id, name, total)
    return name


def _rows(filters: inbox.Filters, show: bool, words: dict[str, Any],
          progress: Any) -> Iterator[list[Any]]:
    """The matching replies, newest first, read in batches by keyset (flat memory)."""
    zone = local_zone()
    labels = inbox.label_names()
    names = {i: full or user for i, full, user in
             db.session.execute(db.select(User.id, User.full_name, User.username))}
    said = words.get
    done = 0
    after: tuple[datetime, int] | None = None
    while True:
        stmt = inbox.query(filters)
        if after is not None:
            stmt = stmt.where(db.or_(Reply.received_at < after[0],
                                     db.and_(Reply.received_at == after[0],
                                             Reply.id < after[1])))
        batch = list(db.session.scalars(stmt.limit(BATCH)))
        if not batch:
            break
        places = _names(Locality, {r.locality_id for r in batch})
        campaigns = _names(Campaign, {r.campaign_id for r in batch}, column="title")
        for r in batch:
            number = r.msisdn if show else inbox.masked(r.msisdn)
            yield [r.id, r.received_at.astimezone(zone),
                   display(number) if show else number,
                   said(r.channel, r.channel), said(r.operator, r.operator) if r.operator else None,
                   places.get(r.locality_id or 0), campaigns.get(r.campaign_id or 0),
                   said(r.kind, r.kind), r.text, labels.get(r.label_id or 0),
                   said(r.state, r.state), names.get(r.assigned_to_id or 0), r.note]
        done += len(batch)
        progress(done)
        after = (batch[-1].received_at, batch[-1].id)
        for r in batch:  # memory stays flat: the session lets go of the rows written
            db.session.expunge(r)


def _names(model: Any, ids: set[int | None], column: str = "name") -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    col = getattr(model, column)
    return {i: n for i, n in db.session.execute(db.select(model.id, col)
                                                .where(model.id.in_(wanted)))}
