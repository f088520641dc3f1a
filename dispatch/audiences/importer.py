"""Import a CSV or XLSX file of phone numbers into a contact list, with a row-by-row report.

All of an import's changes to contacts and the list happen in one transaction: an import that
fails part-way leaves them exactly as they were, and only the failed ContactImport record (with
its message) remains. Rows are streamed and written in batches of IMPORT_BATCH_SIZE, so memory
holds one batch plus the set of numbers already seen in the file (to count duplicates).

The web and the API run it as a background job (dispatch.audiences.import_jobs), which passes
`watch` (progress, heartbeat, cancelling) and `refused_path` (the refused rows, as a CSV to fix
and upload again); the CLI runs it inline. An import ends `completed` when it imported rows,
else `failed` with the reason (a header-only file, every row refused), or `cancelled`; only a
record still `running` is ended, so one the clock marked failed (its worker seemed dead) is
rolled back rather than completed.

Duplicates (within the file, or of existing contacts) are merged: a non-empty cell replaces the
stored value, an empty cell keeps it; for a number repeated in the file, the later row's
non-empty cells win. They are counted in `duplicate_rows`, not reported as errors.

A row with a valid number is never dropped for its locality: a locality that cannot be found
(unknown, ambiguous, inactive) leaves the contact without one and lists the row as a warning.
Warnings are kept apart from errors: an error row is not imported, a warning row is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import update

from dispatch.audiences.columns import ABOVE_HEADER, Columns, Rows, find_header
from dispatch.audiences.import_report import REASON_TITLE, RefusedRows, Report, row_text, summary
from dispatch.audiences.localities import LocalityIndex
from dispatch.audiences.msisdn import normalise, parse_operator
from dispatch.audiences.readers import (
    BrokenRow,
    CsvSource,
    FileBroken,
    FileRejected,
    RowSource,
    open_source,
)
from dispatch.audiences.writer import FIRST, BackgroundWriter, ContactWriter, Pending, merge_into
from dispatch.campaigns import audit
from dispatch.extensions import db
from dispatch.models import OPERATORS, ContactImport, ContactList, User
from dispatch.models.common import utcnow

log = logging.getLogger(__name__)

NAME_MAX = 200
UNKNOWN_COLUMN = "unknown column (prefix it with attr_ to keep it as an attribute)"
BAD_OPERATOR = f"unknown operator: use one of {', '.join(OPERATORS)}"

WATCH_EVERY = 5000  # rows between two calls of `watch`

Progress = Callable[[int, int], None]


class ImportCancelled(Exception):
    """Raised by a `watch` callback: the import is to stop and be undone."""


Watch = Callable[[Report, int, int], None]


def import_file(stream: IO[bytes], filename: str, contact_list: ContactList, *,
                actor: User | None, batch_size: int | None = None,
                progress: Progress | None = None, record_id: int | None = None,
                watch: Watch | None = None,
                refused_path: Path | None = None) -> ContactImport:
    """Import `stream` into `contact_list` and return the committed import record.

    `record_id` names a `running` record to fill (the job's); without it one is created.
    `watch(report, position, size)` is called every WATCH_EVERY rows and may raise
    ImportCancelled. A file that cannot be read (not CSV/XLSX, no phone column, over a limit,
    broken part-way) gives a record with status 'failed' and its message; other failures are
    recorded the same way and raised.
    """
    if record_id is None:
        record = ContactImport(list_id=contact_list.id, filename=(filename or "upload")[:255],
                               created_by_id=actor.id if actor else None, status="running")
        db.session.add(record)
        db.session.commit()
        record_id = record.id
    size = batch_size or current_app.config["IMPORT_BATCH_SIZE"]
    report = Report()
    try:
        _run(stream, filename, contact_list.id, report, size, progress, watch, refused_path)
    except (FileRejected, FileBroken) as exc:
        db.session.rollback()
        _forget(refused_path)
        return _ended(record_id, "failed", exc.note, actor)
    except ImportCancelled:
        db.session.rollback()
        _forget(refused_path)
        return _ended(record_id, "cancelled", "Cancelled: nothing was imported.", actor)
    except BaseException as exc:
        db.session.rollback()
        _forget(refused_path)
        try:
            _ended(record_id, "failed",
                   f"The import failed and was undone ({exc.__class__.__name__}).", actor)
        except Exception:  # the database may be what failed: keep the original error
            log.exception("could not mark import %s as failed", record_id)
        raise
    # A header-only file, or one whose every row was refused, imported nothing: that is a
    # failure, for the page, the API and the CLI alike.
    status = "completed" if report.imported else "failed"
    ended = db.session.execute(
        update(ContactImport).where(ContactImport.id == record_id,
                                    ContactImport.status == "running")
        .values(status=status, total_rows=report.total, imported_rows=report.imported,
                new_contacts=report.new, duplicate_rows=report.duplicates,
                error_rows=report.error_rows, errors=report.errors,
                warning_rows=report.warning_rows, warnings=report.warnings,
                encoding=report.encoding,
                message=summary(report), finished_at=utcnow()))
    if not ended.rowcount:  # type: ignore[attr-defined]
        # Ended meanwhile (the clock took the worker for dead): undo, as that record says.
        db.session.rollback()
        _forget(refused_path)
        log.warning("import %s was ended elsewhere; its rows were rolled back", record_id)
        return _reload(record_id)
    audit.record("contacts.import", "contact_list", contact_list.id, actor=actor,
                 details={"import_id": record_id, "filename": (filename or "upload")[:255],
                          "status": status, "total_rows": report.total,
                          "imported_rows": report.imported, "new_contacts": report.new,
                          "error_rows": report.error_rows,
                          "warning_rows": report.warning_rows})
    db.session.commit()
    return _reload(record_id)


def _reload(record_id: int) -> ContactImport:
    db.session.expire_all()
    record = db.session.get(ContactImport, record_id)
    assert record is not None
    return record


def _forget(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _ended(record_id: int, status: str, message: str, actor: User | None,
           was: tuple[str, ...] = ("queued", "running")) -> ContactImport:
    """End an import that is still in one of the statuses `was` as failed or cancelled."""
    ended = db.session.execute(
        update(ContactImport).where(ContactImport.id == record_id,
                                    ContactImport.status.in_(was))
        .values(status=status, message=message, finished_at=utcnow()))
    if ended.rowcount:  # type: ignore[attr-defined]
        list_id = db.session.get(ContactImport, record_id).list_id  # type: ignore[union-attr]
        audit.record(f"contacts.import_{'failed' if status == 'failed' else status}",
                     "contact_list", list_id, actor=actor,
                     details={"import_id": record_id, "message": message})
    db.session.commit()
    return _reload(record_id)


def _run(stream: IO[bytes], filename: str, list_id: int, report: Report, batch_size: int,
         progress: Progress | None, watch: Watch | None, refused_path: Path | None) -> None:
    source = open_source(stream, filename)
    report.encoding = source.encoding
    refused: RefusedRows | None = None
    try:
        columns, rows, above = find_header(source)
        if refused_path is not None:
            refused = RefusedRows(refused_path, columns.titles)
        delimiter = getattr(source, "delimiter", ",")
        for line, cells in above:
            report.warning(line, None, row_text(cells, delimiter), ABOVE_HEADER)
        for _, title in columns.unknown:
            if title.casefold() != REASON_TITLE:  # our own column, in a fixed file sent back
                report.error(columns.line, title, title, UNKNOWN_COLUMN)
        writer = ContactWriter(db.session.connection(), list_id,
                               with_attributes=bool(columns.attributes))
        background = BackgroundWriter(writer)
        if watch is not None or refused is not None:
            rows = _watched(rows, source, report, watch, refused)
        try:
            _stream_rows(rows, source, columns, background.submit, report, batch_size,
                         progress)
            report.new += background.finish()
        except BaseException:
            background.abandon()
            raise
    finally:
        if refused is not None:
            refused.close()
        if isinstance(source, CsvSource):
            source.detach()


def _watched(rows: Rows, source: RowSource, report: Report, watch: Watch | None,
             refused: RefusedRows | None) -> Rows:
    """The rows, noting each refused one and calling `watch` every WATCH_EVERY rows.

    A row was refused when `error_rows` grew while the importer held it: that is known when it
    asks for the next row (or at the end), so the hot loop needs no hook of its own.
    """
    seen = report.error_rows
    cells: list[str] = []
    count = 0
    for item in rows:
        if report.error_rows != seen:
            seen = report.error_rows
            if refused is not None:
                refused.write(cells, report.reasons)
        report.reasons.clear()
        cells = item[1]
        count += 1
        if count == WATCH_EVERY:
            count = 0
            if watch is not None:
                watch(report, source.position(), source.size)
        yield item
    if report.error_rows != seen and refused is not None:
        refused.write(cells, report.reasons)


def _stream_rows(rows: Rows, source: RowSource, columns: Columns,
                 write: Callable[[dict[str, Pending]], None], report: Report, batch_size: int,
                 progress: Progress | None) -> None:
    """The hot loop: a million rows pass through here, so it avoids per-row indirection."""
    width, phone_at, titles = columns.width, columns.phone, columns.titles
    name_at, operator_at = columns.name, columns.operator
    locality_columns = columns.localities
    attribute_columns = columns.attributes
    localities = LocalityIndex.load() if locality_columns else None
    phone_title = titles[phone_at]
    seen: set[int] = set()
    batch: dict[str, Pending] = {}
    error, warning = report.error, report.warning
    for line, cells in rows:
        if len(cells) != width:
            if isinstance(cells, BrokenRow):  # no cells: the line itself is reported
                report.total += 1
                report.error_rows += 1
                error(line, None, cells.text, cells.reason)
                continue
            if not any(cells):
                continue
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            else:
                report.total += 1
                report.error_rows += 1
                kind = "many" if len(cells) > width else "few"
                error(line, None, ",".join(cells),
                      f"too {kind} cells: {len(cells)}, the header has {width}")
                continue
        raw = cells[phone_at]
        number = normalise(raw)
        if number.error is not None and not raw.strip() and not any(c.strip() for c in cells):
            continue  # a blank row
        report.total += 1
        bad = False
        if number.error is not None:
            error(line, phone_title, raw.strip(), number.error)
            bad = True
        locality = override = name = None
        if locality_columns:
            locality = _locality(localities, locality_columns, cells)  # type: ignore[arg-type]
        if operator_at is not None:
            text = cells[operator_at].strip()
            if text:
                override = parse_operator(text)
                if override is None:
                    error(line, titles[operator_at], text, BAD_OPERATOR)
                    bad = True
        if name_at is not None:
            name = cells[name_at].strip() or None
            if name is not None and len(name) > NAME_MAX:
                error(line, titles[name_at], name, f"longer than {NAME_MAX} characters")
                bad = True
        if type(locality) is tuple:  # (column, text, why): imported without a locality
            (warning if not bad else error)(line, titles[locality[0]], locality[1], locality[2])
            locality = None
        if bad:
            report.error_rows += 1
            continue
        attributes = None
        for at, attribute in attribute_columns:  # a loop: cheaper than a comprehension per row
            value = cells[at].strip()
            if value:
                if attributes is None:
                    attributes = {}
                attributes[attribute] = value
        msisdn: str = number.msisdn  # type: ignore[assignment]
        report.imported += 1
        as_int = int(msisdn[1:])  # an int takes half the memory of the string in `seen`
        first = as_int not in seen
        if first:
            seen.add(as_int)
        else:
            report.duplicates += 1
        pending = batch.get(msisdn)
        if pending is None:
            batch[msisdn] = [number.operator, override, locality, name, attributes, first]
        else:
            merge_into(pending, number.operator, override, locality, name,  # type: ignore[arg-type]
                       attributes)
            pending[FIRST] = pending[FIRST] or first
        if len(batch) >= batch_size:
            write(batch)
            batch = {}
            if progress is not None:
                progress(source.position(), source.size)
    write(batch)
    if progress is not None:
        progress(source.position(), source.size)


def _locality(index: LocalityIndex, at: list[tuple[int, str | None]],
              cells: list[str]) -> int | tuple[int, str, str] | None:
    """The most specific locality a row's locality columns name, None when they are empty, or
    (column, text, why) for the most specific one that could not be found.

    Districts are read first, so that a commune is looked for among the district's children.
    """
    found: int | None = None
    failed: tuple[int, str, str] | None = None
    for column, word in reversed(at):
        text = cells[column].strip()
        if text:
            place, why = index.find(text, word, found)
            if place is not None:
                found = place
            else:
                failed = (column, text, why or "")
    if found is not None:
        return found
    return failed
