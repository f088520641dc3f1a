"""A person's data request: the number, and for an erasure the request and the opt-out."""

from __future__ import annotations

import marshmallow as ma

from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text


class PersonRequestSchema(StrictSchema):
    # In the body, not the URL: a number in a path ends up in access logs.
    number = Text(required=True, validate=ma.validate.Length(min=1, max=64))


class EraseRequestSchema(PersonRequestSchema):
    reason = Text(load_default=None, multiline=True, validate=ma.validate.Length(max=500))
    drop_opt_out = ma.fields.Boolean(load_default=False)


class ErasedSchema(ma.Schema):
    contacts = ma.fields.Integer()
    memberships = ma.fields.Integer()
    messages = ma.fields.Integer()
    inbound = ma.fields.Integer()
    opt_outs = ma.fields.Integer()
