"""Contacts, lists, imports, opt-outs, localities and the devices summary."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from dispatch.audiences.localities import KINDS
from dispatch.audiences.optouts import SOURCES
from dispatch.models import CHANNELS, OPERATORS
from dispatch.schemas.common import Id, PageQuery, StrictSchema
from dispatch.schemas.fields import SEARCH, Text

Operator = Text(validate=ma.validate.OneOf(OPERATORS), allow_none=True)
Attributes = ma.fields.Dict(keys=Text(validate=ma.validate.Length(min=1, max=64)),
                            values=Text(validate=ma.validate.Length(max=500)))


# --- localities ------------------------------------------------------------------------------

class LocalitySchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    parent_id = Id(allow_none=True)
    active = ma.fields.Boolean()


class LocalityCreateSchema(StrictSchema):
    code = Text(required=True, validate=[
        ma.validate.Length(min=1, max=32),
        ma.validate.Regexp(r"^[A-Za-z0-9._-]+$", error="Use letters, digits, '.', '_' or '-'.")])
    name = Text(required=True, validate=ma.validate.Length(min=1, max=120))
    kind = Text(load_default="district", validate=ma.validate.OneOf(KINDS))
    parent_id = Id(load_default=None, allow_none=True)
    parent_code = Text(load_default=None, allow_none=True)
    active = ma.fields.Boolean(load_default=True)


class LocalityUpdateSchema(StrictSchema):
    code = Text(validate=[
        ma.validate.Length(min=1, max=32),
        ma.validate.Regexp(r"^[A-Za-z0-9._-]+$", error="Use letters, digits, '.', '_' or '-'.")])
    name = Text(validate=ma.validate.Length(min=1, max=120))
    kind = Text(validate=ma.validate.OneOf(KINDS))
    parent_id = Id(allow_none=True)
    parent_code = Text()
    active = ma.fields.Boolean()


class LocalityQuery(StrictSchema):
    kind = Text(validate=ma.validate.OneOf(KINDS))
    active = ma.fields.Boolean()
    parent_id = Id()


# --- contacts --------------------------------------------------------------------------------

class ContactSchema(ma.Schema):
    id = ma.fields.Integer()
    msisdn = ma.fields.String(metadata={"description": "E.164, e.g. +84912345678"})
    operator = ma.fields.String(metadata={"description": "Original operator, from the prefix"})
    operator_override = ma.fields.String(allow_none=True,
                                         metadata={"description": "Set for a ported number"})
    effective_operator = ma.fields.String()
    locality_id = Id(allow_none=True)
    name = ma.fields.String(allow_none=True)
    attributes = ma.fields.Dict()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class ContactDetailSchema(ContactSchema):
    list_ids = ma.fields.List(ma.fields.Integer())


class ContactCreateSchema(StrictSchema):
    msisdn = Text(required=True, validate=ma.validate.Length(min=1, max=64),
                              metadata={"description": "Any written form: 09…, 84…, +84…"})
    name = Text(load_default=None, allow_none=True,
                            validate=ma.validate.Length(max=200))
    locality_id = Id(load_default=None, allow_none=True)
    operator_override = Operator
    attributes = Attributes
    list_ids = ma.fields.List(ma.fields.Integer(), load_default=list)


class ContactUpdateSchema(StrictSchema):
    name = Text(allow_none=True, validate=ma.validate.Length(max=200))
    locality_id = Id(allow_none=True)
    operator_override = Operator
    attributes = Attributes


class ContactQuery(PageQuery):
    q = Text(validate=SEARCH, metadata={"description": "Part of the number (any form) or the name"})
    operator = Text(validate=ma.validate.OneOf(OPERATORS),
                                metadata={"description": "Effective operator (override first)"})
    locality_id = Id()
    list_id = Id()


# --- lists -----------------------------------------------------------------------------------

class ListSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String()
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    contact_count = ma.fields.Integer()


class ListCreateSchema(StrictSchema):
    name = Text(required=True, validate=ma.validate.Length(min=1, max=200))
    description = Text(load_default="", multiline=True, validate=ma.validate.Length(max=2000))


class ListUpdateSchema(StrictSchema):
    name = Text(validate=ma.validate.Length(min=1, max=200))
    description = Text(multiline=True, validate=ma.validate.Length(max=2000))


class ListQuery(PageQuery):
    q = Text(validate=SEARCH, metadata={"description": "Part of the name"})


class MembersAddSchema(StrictSchema):
    contact_ids = ma.fields.List(ma.fields.Integer(), required=True,
                                 validate=ma.validate.Length(min=1, max=1000))


class MembersAddedSchema(ma.Schema):
    added = ma.fields.Integer()
    contact_count = ma.fields.Integer()


# --- imports ---------------------------------------------------------------------------------

class ImportErrorSchema(ma.Schema):
    line = ma.fields.Integer(metadata={"description": "Row as a spreadsheet counts it (header 1)"})
    column = ma.fields.String(allow_none=True)
    value = ma.fields.String()
    reason = ma.fields.String()


class ImportProgressSchema(ma.Schema):
    rows_read = ma.fields.Integer()
    imported = ma.fields.Integer()
    refused = ma.fields.Integer()
    position = ma.fields.Integer(metadata={"description": "Bytes (CSV) or rows (XLSX) read"})
    size = ma.fields.Integer(metadata={"description": "Of `position`'s total (0: unknown)"})
    cancel_requested = ma.fields.Boolean()


class ImportSchema(ma.Schema):
    id = ma.fields.Integer()
    list_id = Id()
    filename = ma.fields.String()
    status = ma.fields.String(metadata={
        "description": "queued, running, completed (rows imported), failed (nothing imported: "
                       "`message` says why) or cancelled"})
    progress = ma.fields.Nested(ImportProgressSchema, allow_none=True, metadata={
        "description": "While running: the figures so far (updated every 5,000 rows)"})
    refused_rows_available = ma.fields.Boolean(metadata={
        "description": "The refused rows can be downloaded: GET /api/imports/{id}/refused.csv"})
    total_rows = ma.fields.Integer()
    imported_rows = ma.fields.Integer()
    new_contacts = ma.fields.Integer()
    duplicate_rows = ma.fields.Integer()
    error_rows = ma.fields.Integer()
    errors = ma.fields.List(ma.fields.Nested(ImportErrorSchema),
                            metadata={"description": "The first 1,000 problems"})
    warning_rows = ma.fields.Integer(metadata={
        "description": "Rows imported with a caveat (e.g. a locality not found: imported "
                       "without one), or title rows above the header"})
    warnings = ma.fields.List(ma.fields.Nested(ImportErrorSchema),
                              metadata={"description": "The first 1,000 warnings"})
    encoding = ma.fields.String(allow_none=True, metadata={
        "description": "What a CSV was read as: UTF-8, UTF-8 (BOM), UTF-16 LE, UTF-16 BE or "
                       "Windows-1258; null for a workbook"})
    message = ma.fields.String(allow_none=True, metadata={
        "description": "In English: the summary, or why the import failed"})
    refusal = ma.fields.Dict(allow_none=True, metadata={
        "description": "Why the file was refused, for machines: `code` (file_empty, "
                       "not_csv_or_xlsx, xls_file, not_text, line_not_utf8, rows_declared...), "
                       "`message` (in English) and the code's values (line, byte, limit...); "
                       "null when the file was read"})
    created_by_id = ma.fields.Integer(allow_none=True)
    started_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class ImportUploadSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8, UTF-16 or Windows-1258; "
                                                          "comma, semicolon or tab) or XLSX "
                                                          "with a header row"})


# --- opt-outs --------------------------------------------------------------------------------

class OptOutSchema(ma.Schema):
    id = ma.fields.Integer()
    channel = ma.fields.String()
    address = ma.fields.String(metadata={"description": "E.164 for sms, installation id for push"})
    source = ma.fields.String()
    reason = ma.fields.String()
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class OptOutCreateSchema(StrictSchema):
    channel = Text(required=True, validate=ma.validate.OneOf(CHANNELS))
    address = Text(required=True, validate=ma.validate.Length(min=1, max=200))
    source = Text(load_default="staff", validate=ma.validate.OneOf(("staff", "api")))
    reason = Text(load_default="", multiline=True, validate=ma.validate.Length(max=2000))


class OptOutRemoveSchema(StrictSchema):
    reason = Text(required=True, multiline=True, validate=ma.validate.Length(min=1, max=2000))


class OptOutQuery(PageQuery):
    channel = Text(validate=ma.validate.OneOf(CHANNELS))
    source = Text(validate=ma.validate.OneOf(SOURCES))
    address = Text(metadata={"description": "Exact address; numbers in any form"})


# --- devices ---------------------------------------------------------------------------------

class PlatformCountSchema(ma.Schema):
    platform = ma.fields.String()
    active = ma.fields.Integer()
    disabled = ma.fields.Integer()


class LocalityCountSchema(ma.Schema):
    locality_id = Id(allow_none=True)
    code = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    active = ma.fields.Integer()
    disabled = ma.fields.Integer()


class DeviceSummarySchema(ma.Schema):
    total = ma.fields.Integer()
    active = ma.fields.Integer()
    disabled = ma.fields.Integer()
    by_platform = ma.fields.List(ma.fields.Nested(PlatformCountSchema))
    by_locality = ma.fields.List(ma.fields.Nested(LocalityCountSchema))
