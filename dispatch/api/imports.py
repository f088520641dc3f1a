"""Imports of CSV/XLSX files into a list, as background jobs, and their reports."""

from __future__ import annotations

from typing import Any

from flask import stream_with_context
from flask.views import MethodView
from sqlalchemy import select
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate
from dispatch.audiences import contacts, import_jobs
from dispatch.errors import NotFound
from dispatch.extensions import db
from dispatch.models import ContactImport
from dispatch.schemas.audiences import ImportSchema, ImportUploadSchema
from dispatch.schemas.common import PageQuery
from dispatch.schemas.translate import tr

blp = Blueprint("imports", __name__, url_prefix="/api",
                description="Imports of contact files into lists")


def _record(import_id: int) -> ContactImport:
    record = db.session.get(ContactImport, import_id)
    if record is None:
        raise NotFound(f"Import {import_id} does not exist.")
    return record


@blp.route("/lists/<int:list_id>/imports")
class ListImports(MethodView):
    @require("audience.view")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(ImportSchema))
    def get(self, args: dict[str, Any], list_id: int) -> dict[str, Any]:
        """The imports into a list, newest first."""
        contacts.get_list(list_id)
        stmt = select(ContactImport).where(ContactImport.list_id == list_id).order_by(
            ContactImport.id.desc())
        page = paginate(stmt, args)
        page["items"] = [import_jobs.describe(r) for r in page["items"]]
        return page

    @require("audience.edit")
    @blp.arguments(ImportUploadSchema, location="files")
    @blp.response(202, ImportSchema)
    def post(self, files: dict[str, Any], list_id: int) -> dict[str, Any]:
        """Upload a CSV or XLSX file (multipart field `file`) to import into the list.

        The file is stored and imported by a background job: the answer is 202 with the
        import (`queued`); follow it with GET /api/imports/{id} (`progress` while it runs)
        until its status is completed, failed or cancelled. The header row names the columns:
        a phone column (phone, msisdn, so_dien_thoai, số điện thoại, sdt...), optional
        name/ho_ten, locality/dia_ban (code or name), operator/nha_mang (override for ported
        numbers) and attr_<key> columns for free attributes; other columns are reported as
        unknown and ignored. Every bad row is reported with its line (the header is line 1),
        column, value and reason; good rows are imported, duplicates merged, all in one
        transaction. An import that imported nothing (a header-only file, every row refused,
        an unreadable file or one over a size limit) ends `failed` with the reason in
        `message`.
        """
        upload = files["file"]
        record = import_jobs.submit(upload.stream, upload.filename or "upload",
                                    contacts.get_list(list_id), actor())
        return import_jobs.describe(record)


@blp.route("/imports/<int:import_id>")
class ImportById(MethodView):
    @require("audience.view")
    @blp.response(200, ImportSchema)
    def get(self, import_id: int) -> dict[str, Any]:
        """Show an import: its progress while it runs, its report once it ended."""
        return import_jobs.describe(_record(import_id))


@blp.route("/imports/<int:import_id>/cancel")
class ImportCancel(MethodView):
    @require("audience.edit")
    @blp.response(202, ImportSchema)
    def post(self, import_id: int) -> dict[str, Any]:
        """Cancel an import: a queued one ends now, a running one within 5,000 rows.

        Nothing of a cancelled import stays (imports are all or nothing). 409 when it has
        already ended.
        """
        return import_jobs.describe(import_jobs.cancel(_record(import_id), actor()))


@blp.route("/imports/<int:import_id>/refused.csv")
class ImportRefusedRows(MethodView):
    @require("audience.view")
    @blp.response(200, description="CSV (UTF-8 with BOM): the refused rows in the file's own "
                                   "columns plus `lý do`, the reasons; fix and upload it again",
                  content_type="text/csv")
    def get(self, import_id: int) -> Response:
        """Download the rows an import refused, to correct and import again."""
        record = _record(import_id)
        body = import_jobs.refused_rows(record, tr)
        return Response(stream_with_context(body), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="import-{record.id}-refused.csv"',
            "Cache-Control": "no-store"})
