"""SMPP accounts. Passwords are accepted, never returned."""

from __future__ import annotations

import marshmallow as ma

from dispatch.models import OPERATORS
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text

Operator = Text(validate=ma.validate.OneOf(OPERATORS))


class SmppAccountSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    host = ma.fields.String()
    port = ma.fields.Integer()
    system_id = ma.fields.String()
    system_type = ma.fields.String()
    bind_mode = ma.fields.String()
    binds = ma.fields.Integer()
    tps = ma.fields.Integer()
    window = ma.fields.Integer()
    pacing = ma.fields.String()
    brandnames = ma.fields.List(ma.fields.String())
    source_ton = ma.fields.Integer()
    source_npi = ma.fields.Integer()
    validity_minutes = ma.fields.Integer()
    operators = ma.fields.List(ma.fields.String())
    is_default = ma.fields.Boolean()
    id_format = ma.fields.String()
    concat = ma.fields.String()
    enabled = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class SmppAccountUpdateSchema(StrictSchema):
    name = Text(validate=ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$",
                                                         error="Use a-z, 0-9, '_' or '-'."))
    host = Text(validate=ma.validate.Length(min=1, max=255))
    port = ma.fields.Integer(validate=ma.validate.Range(min=1, max=65535))
    system_id = Text(validate=ma.validate.Length(min=1, max=15))
    password = ma.fields.String(load_only=True, validate=ma.validate.Length(min=1, max=8),
                                metadata={"description": "Write-only; SMPP 3.4 allows 8 chars"})
    system_type = Text(validate=ma.validate.Length(max=12))
    bind_mode = Text(validate=ma.validate.OneOf(["trx", "tx_rx"]))
    binds = ma.fields.Integer(validate=ma.validate.Range(min=1, max=20))
    tps = ma.fields.Integer(validate=ma.validate.Range(min=1, max=10_000))
    window = ma.fields.Integer(validate=ma.validate.Range(min=1, max=1000))
    pacing = Text(validate=ma.validate.OneOf(["per_second", "spacing"]), metadata={
        "description": "per_second: the TPS in every second; spacing: no two submits closer "
                       "than 1/TPS (SMSCs that police a minimum interval)"})
    brandnames = ma.fields.List(Text(), validate=ma.validate.Length(max=50))
    source_ton = ma.fields.Integer(validate=ma.validate.Range(min=0, max=6))
    source_npi = ma.fields.Integer(validate=ma.validate.Range(min=0, max=18))
    validity_minutes = ma.fields.Integer(validate=ma.validate.Range(min=1, max=7 * 24 * 60))
    operators = ma.fields.List(Operator)
    is_default = ma.fields.Boolean()
    id_format = Text(validate=ma.validate.OneOf(["auto", "hex", "dec", "str"]))
    concat = Text(validate=ma.validate.OneOf(["udh", "sar", "payload"]))
    enabled = ma.fields.Boolean()


class SmppAccountCreateSchema(SmppAccountUpdateSchema):
    class Meta(StrictSchema.Meta):
        pass

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if field_name in {"name", "host", "port", "system_id", "password"}:
            field_obj.required = True


class RouteSchema(ma.Schema):
    operator = ma.fields.String()
    account_id = ma.fields.Integer(allow_none=True)
