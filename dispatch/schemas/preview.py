"""The SMS preview: request and response."""

from __future__ import annotations

import marshmallow as ma

from dispatch.campaigns.preview import MAX_TEXT_CHARS
from dispatch.models import OPERATORS
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text


class SmsPreviewRequestSchema(StrictSchema):
    text = Text(
        required=True, multiline=True,
        validate=ma.validate.Length(
            max=MAX_TEXT_CHARS,
            error=f"At most {MAX_TEXT_CHARS} characters (ten full GSM-7 parts)."),
    )
    sender = Text(
        load_default=None, allow_none=True,
        metadata={"description": "Brandname to check: at most 11 characters, no diacritics"})
    recipients = ma.fields.Dict(
        keys=Text(),
        values=ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0)),
        load_default=None, allow_none=True,
        metadata={"description": f"Recipients per operator ({', '.join(OPERATORS)}), "
                                 "to estimate parts billed and cost"})


class SmsVariantSchema(ma.Schema):
    text = ma.fields.String()
    encoding = ma.fields.String(metadata={"description": "gsm7 or ucs2"})
    data_coding = ma.fields.Integer(metadata={"description": "SMPP data_coding: 0 or 8"})
    forcing_char = ma.fields.String(
        allow_none=True, metadata={"description": "First character that forced UCS-2"})
    forcing_index = ma.fields.Integer(
        allow_none=True, metadata={"description": "Its position, in characters (code points)"})
    units = ma.fields.Integer(metadata={"description": "Septets (GSM-7) or UTF-16 units (UCS-2)"})
    parts = ma.fields.Integer()
    per_part = ma.fields.Integer(metadata={"description": "160/153 (GSM-7) or 70/67 (UCS-2)"})
    remaining = ma.fields.Integer(
        metadata={"description": "Units that can still be added before another part is needed"})
    segments = ma.fields.List(ma.fields.String(), metadata={"description": "The parts as sent"})


class PartsCostSchema(ma.Schema):
    parts = ma.fields.Integer(metadata={"description": "Parts billed: recipients x parts"})
    cost = ma.fields.Integer(metadata={"description": "Parts billed x price per part"})


class OperatorCostSchema(ma.Schema):
    operator = ma.fields.String()
    recipients = ma.fields.Integer()
    price_per_part = ma.fields.Integer()
    original = ma.fields.Nested(PartsCostSchema)
    plain = ma.fields.Nested(PartsCostSchema)


class CostTotalsSchema(ma.Schema):
    recipients = ma.fields.Integer()
    original = ma.fields.Nested(PartsCostSchema)
    plain = ma.fields.Nested(PartsCostSchema)
    cost_saving = ma.fields.Integer(metadata={"description": "Original cost minus plain cost"})


class SmsPreviewSchema(ma.Schema):
    original = ma.fields.Nested(SmsVariantSchema)
    plain = ma.fields.Nested(SmsVariantSchema, metadata={
        "description": "The same text without diacritics, offered as a one-click variant"})
    differs = ma.fields.Boolean()
    parts_saved = ma.fields.Integer(metadata={"description": "Per message; original - plain"})
    currency = ma.fields.String()
    operators = ma.fields.List(ma.fields.Nested(OperatorCostSchema))
    totals = ma.fields.Nested(CostTotalsSchema, allow_none=True)
    sender = ma.fields.String(allow_none=True, metadata={"description": "The brandname, trimmed"})
