"""Imports of CSV/XLSX files into a list, and their reports."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from sqlalchemy import select
from werkzeug.wrappers import Response

from dispatch.api.common import Blueprint, actor, page_of, paginate
from dispatch.audiences import contacts
from dispatch.audiences.importer import import_file
from dispatch.auth import require
from dispatch.errors import NotFound, error_body
from dispatch.extensions import db
from dispatch.models import ContactImport
from dispatch.schemas.audiences import ImportRefusedSchema, ImportSchema, ImportUploadSchema
from dispatch.schemas.common import PageQuery

blp = Blueprint("imports", __name__, url_prefix="/api",
                description="Imports of contact files into lists")

FIELD_ERRORS_SHOWN = 50  # row errors repeated in the error envelope; all are in `import`


def _refusal(record: ContactImport) -> Response:
    """422 in the one error format, with the whole import record under `import`."""
    errors: dict[str, list[str]] = {}
    if record.status == "failed":
        errors["file"] = [record.message or "The file could not be imported."]
    for problem in record.errors[:FIELD_ERRORS_SHOWN]:
        key = f"file.line_{problem['line']}.{problem['column'] or 'row'}"
        errors.setdefault(key, []).append(f"{problem['reason']}: {problem['value']!r}")
    code = "import_failed" if record.status == "failed" else "nothing_imported"
    body = error_body(422, code, record.message or "Nothing imported.", errors)
    body["import"] = ImportSchema().dump(record)
    response = jsonify(body)
    response.status_code = 422
    return response


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
        return paginate(stmt, args)

    @require("audience.edit")
    @blp.arguments(ImportUploadSchema, location="files")
    @blp.response(201, ImportSchema)
    @blp.alt_response(422, schema=ImportRefusedSchema,
                      description="Nothing could be imported; the report says why")
    def post(self, files: dict[str, Any], list_id: int) -> ContactImport | Response:
        """Upload a CSV or XLSX file (multipart field `file`) and import it into the list.

        The header row names the columns: a phone column (phone, msisdn, so_dien_thoai,
        số điện thoại, sdt...), optional name/ho_ten, locality/dia_ban (code or name),
        operator/nha_mang (override for ported numbers) and attr_<key> columns for free
        attributes; other columns are reported as unknown and ignored. Every bad row is
        reported with its line (the header is line 1), column, value and reason; good rows are
        imported, duplicates merged. 201 with the report, or 422 with it when nothing could be
        imported.
        """
        upload = files["file"]
        record = import_file(upload.stream, upload.filename or "upload",
                             contacts.get_list(list_id), actor=actor())
        if record.status == "failed" or record.imported_rows == 0:
            return _refusal(record)
        return record


@blp.route("/imports/<int:import_id>")
class ImportById(MethodView):
    @require("audience.view")
    @blp.response(200, ImportSchema)
    def get(self, import_id: int) -> ContactImport:
        """Show an import and its report."""
        record = db.session.get(ContactImport, import_id)
        if record is None:
            raise NotFound(f"Import {import_id} does not exist.")
        return record
