"""The inbox: replies, their labels, and the changes staff make to them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from dispatch.models import OPERATORS
from dispatch.replies.inbox import BULK_MAX, KINDS, STATES
from dispatch.schemas.common import Id, PageQuery, StrictSchema
from dispatch.schemas.fields import Date, Text

ONE_VALUE = "Give one value."


class InboxFilterSchema(StrictSchema):
    """What the inbox is narrowed to (the page's query string, the API's, a bulk body's)."""

    campaign_id = Id()
    locality_id = Id()
    operator = Text(validate=ma.validate.OneOf(OPERATORS))
    since = Date(metadata={"description": "First local day (Asia/Ho_Chi_Minh), included"})
    until = Date(metadata={"description": "Last local day, included"})
    label_id = Id()
    state = Text(validate=ma.validate.OneOf(STATES))
    kind = Text(validate=ma.validate.OneOf(KINDS))
    assigned_to_id = Id()
    q = Text(validate=ma.validate.Length(max=200),
             metadata={"description": "Text search, ignoring case and diacritics"})

    @ma.pre_load
    def _one_value_each(self, data: Any, **_: Any) -> Any:
        """A filter given twice (`?campaign_id=1&campaign_id=2`) is refused, not half-read."""
        multi = getattr(data, "data", data)
        if hasattr(multi, "getlist"):
            twice = {key: [ONE_VALUE] for key in multi if len(multi.getlist(key)) > 1}
            if twice:
                raise ma.ValidationError(twice)
            return {key: multi.get(key) for key in multi}
        return data

    @ma.pre_load
    def _blank_is_none(self, data: Any, **_: Any) -> Any:
        """An empty field of the page's filter form means no filter."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


class ReplyQuery(InboxFilterSchema, PageQuery):
    unmask = ma.fields.Boolean(load_default=False, metadata={
        "description": "Show full numbers (needs reply.unmask; every reply shown is audited)"})


class ReplyOneQuery(StrictSchema):
    unmask = ma.fields.Boolean(load_default=False)


class ReplySchema(ma.Schema):
    id = ma.fields.Integer()
    channel = ma.fields.String()
    msisdn = ma.fields.String(allow_none=True, metadata={
        "description": "Masked (0912 *** 678) unless asked for with unmask=1 and permitted"})
    masked = ma.fields.Boolean()
    operator = ma.fields.String(allow_none=True)
    locality_id = ma.fields.Integer(allow_none=True)
    campaign_id = ma.fields.Integer(allow_none=True)
    text = ma.fields.String()
    kind = ma.fields.String()
    choice = ma.fields.String(allow_none=True)
    label_id = ma.fields.Integer(allow_none=True)
    state = ma.fields.String()
    assigned_to_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(allow_none=True)
    handled_by_id = ma.fields.Integer(allow_none=True)
    handled_at = ma.fields.AwareDateTime(allow_none=True)
    received_at = ma.fields.AwareDateTime()


class ReplyChangeSchema(StrictSchema):
    label_id = Id(allow_none=True)
    state = Text(validate=ma.validate.OneOf(STATES))
    assigned_to_id = Id(allow_none=True)
    note = Text(multiline=True, allow_none=True, validate=ma.validate.Length(max=2000))

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ma.ValidationError("Nothing to change.", "_")


class BulkSchema(StrictSchema):
    """A change to the chosen replies (`ids`) or to every reply matching `filter`."""

    ids = ma.fields.List(Id(), validate=ma.validate.Length(min=1, max=BULK_MAX))
    filter = ma.fields.Nested(InboxFilterSchema)
    label_id = Id(allow_none=True)
    state = Text(validate=ma.validate.OneOf(STATES))
    assigned_to_id = Id(allow_none=True)

    @ma.validates_schema
    def _one_target(self, data: dict[str, Any], **_: Any) -> None:
        if ("ids" in data) == ("filter" in data):
            raise ma.ValidationError("Give either the replies or a filter.", "ids")
        if not {"label_id", "state", "assigned_to_id"} & set(data):
            raise ma.ValidationError("Nothing to change.", "_")


class BulkResultSchema(ma.Schema):
    changed = ma.fields.Integer()


class LabelSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()


class LabelCreateSchema(StrictSchema):
    name = Text(required=True, validate=ma.validate.Length(min=1, max=80))


class LabelChangeSchema(StrictSchema):
    name = Text(validate=ma.validate.Length(min=1, max=80))
    active = ma.fields.Boolean()
