"""Run-time settings: one schema per key validates its value."""

from __future__ import annotations

import marshmallow as ma

from dispatch.models import OPERATORS
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text

HHMM = ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM, 24-hour local time.")


PricesValue = StrictSchema.from_dict(
    {
        op: ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100_000),
                              metadata={"description": f"VND per SMS part on {op}"})
        for op in OPERATORS
    },
    name="PricesValue",
)


class SendWindowValue(StrictSchema):
    start = Text(required=True, validate=HHMM)
    end = Text(required=True, validate=HHMM)

    @ma.validates_schema
    def _ordered(self, data: dict[str, str], **_: object) -> None:
        if data["start"] >= data["end"]:
            raise ma.ValidationError("The window must start before it ends.", "end")


class RecipientCapValue(StrictSchema):
    max_campaigns = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100))
    hours = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=168))


class KeywordsValue(StrictSchema):
    keywords = ma.fields.List(
        Text(validate=ma.validate.Regexp(r"^[A-Z0-9]{1,20}$",
                                                     error="Use 1-20 capital letters or digits.")),
        required=True, validate=ma.validate.Length(min=1, max=50),
    )


class SettingSchema(ma.Schema):
    key = ma.fields.String()
    value = ma.fields.Raw()
    updated_at = ma.fields.AwareDateTime()
    updated_by_id = ma.fields.Integer(allow_none=True)


class SettingUpdateSchema(StrictSchema):
    value = ma.fields.Raw(required=True)
