"""Schemas shared by every resource."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import RAISE


class StrictSchema(ma.Schema):
    """Base for request bodies: unknown fields are an error naming the field."""

    class Meta:
        unknown = RAISE


class ErrorSchema(ma.Schema):
    status = ma.fields.Integer(metadata={"description": "HTTP status"})
    code = ma.fields.String(metadata={"description": "Machine-readable error code"})
    message = ma.fields.String(metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Messages per field, keyed by dotted path"},
    )


class PageQuery(StrictSchema):
    """Query-string pagination and the common filters."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))
