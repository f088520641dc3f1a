"""The test list and test sends before approval."""

from __future__ import annotations

import marshmallow as ma

from dispatch.schemas.common import Id, StrictSchema
from dispatch.schemas.fields import DateTime, Text

# A number as written (read by dispatch.audiences.msisdn, never repaired); an installation id
# as the app registered it.
_NUMBER = ma.validate.Length(max=40)
_INSTALLATION = ma.validate.Length(max=128)
_NAME = ma.validate.Length(min=1, max=120)


class TestMemberSchema(ma.Schema):
    __test__ = False

    id = ma.fields.Integer()
    name = ma.fields.String()
    msisdn = ma.fields.String(allow_none=True)
    operator = ma.fields.String(allow_none=True)
    installation_id = ma.fields.String(allow_none=True)
    created_at = DateTime()


class TestMemberCreateSchema(StrictSchema):
    __test__ = False

    name = Text(required=True, validate=_NAME)
    msisdn = Text(load_default=None, allow_none=True, validate=_NUMBER,
                  metadata={"description": "A Vietnamese mobile number as written"})
    installation_id = Text(load_default=None, allow_none=True, validate=_INSTALLATION,
                           metadata={"description": "An installation the app registered"})


class TestMemberUpdateSchema(StrictSchema):
    __test__ = False

    name = Text(validate=_NAME)
    msisdn = Text(allow_none=True, validate=_NUMBER)
    installation_id = Text(allow_none=True, validate=_INSTALLATION)


class TestSendBodySchema(StrictSchema):
    __test__ = False

    member_id = Id(load_default=None, allow_none=True,
                   metadata={"description": "One member of the test list; none: all of them"})


class TestSendResultSchema(ma.Schema):
    __test__ = False

    send_id = ma.fields.String()
    tests = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "One per member sent: {id, member_id, member, channels}"})
    skipped = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "Members left out: {member_id, name, reason: no_channel | "
                       "device_missing}"})


class TestStatusSchema(ma.Schema):
    __test__ = False

    tested = ma.fields.Boolean(metadata={"description": "The current version was tested"})
    ever = ma.fields.Boolean(metadata={"description": "Any version was tested"})
    at = DateTime(allow_none=True)
    by_id = ma.fields.Integer(allow_none=True)
    version = ma.fields.Integer(allow_none=True)
    fingerprint = ma.fields.String()
    members = ma.fields.List(ma.fields.Dict())
