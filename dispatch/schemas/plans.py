"""Communication plans and their phases (dates are local calendar days, both ends included)."""

from __future__ import annotations

import marshmallow as ma

from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Date, Text


class PlanWriteSchema(StrictSchema):
    """An edit of a plan: every field optional."""

    reference = Text(allow_none=True, validate=ma.validate.Length(max=60),
                     metadata={"description": "Số/ký hiệu, e.g. 125/KH-STTTT"})
    title = Text(validate=ma.validate.Length(min=1, max=300))
    starts_on = Date(metadata={"description": "First day (local), inclusive"})
    ends_on = Date(metadata={"description": "Last day (local), inclusive"})
    description = Text(multiline=True, validate=ma.validate.Length(max=5000))


class PlanCreateSchema(PlanWriteSchema):
    title = Text(required=True, validate=ma.validate.Length(min=1, max=300))
    starts_on = Date(required=True, metadata={"description": "First day (local), inclusive"})
    ends_on = Date(required=True, metadata={"description": "Last day (local), inclusive"})


class PhaseWriteSchema(StrictSchema):
    """An edit of a phase: every field optional."""

    name = Text(validate=ma.validate.Length(min=1, max=200),
                metadata={"description": "e.g. Đợt 1: Trước Đại hội"})
    starts_on = Date(metadata={"description": "First day (local), inclusive; inside the "
                                              "plan's dates, overlapping no other phase"})
    ends_on = Date(metadata={"description": "Last day (local), inclusive"})
    purpose = Text(multiline=True, validate=ma.validate.Length(max=5000))


class PhaseCreateSchema(PhaseWriteSchema):
    name = Text(required=True, validate=ma.validate.Length(min=1, max=200),
                metadata={"description": "e.g. Đợt 1: Trước Đại hội"})
    starts_on = Date(required=True, metadata={"description": "First day (local), inclusive"})
    ends_on = Date(required=True, metadata={"description": "Last day (local), inclusive"})


class PhaseSchema(ma.Schema):
    id = ma.fields.Integer()
    plan_id = ma.fields.Integer()
    name = ma.fields.String()
    starts_on = ma.fields.Date(allow_none=True,
                               metadata={"description": "Null only for a phase migrated from "
                                                        "a phase tag, until it is given dates"})
    ends_on = ma.fields.Date(allow_none=True)
    purpose = ma.fields.String()


class PhaseRefSchema(ma.Schema):
    """A campaign's phase, as the campaign API shows it."""

    id = ma.fields.Integer()
    plan_id = ma.fields.Integer()
    name = ma.fields.String()
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)


class PlanSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    description = ma.fields.String()
    phases = ma.fields.List(ma.fields.Nested(PhaseSchema),
                            metadata={"description": "By start date"})
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class PhaseCampaignSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String()
    channels = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "sent | scheduled | unscheduled"})
    at = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "When it started (sent) or is to start (scheduled)"})
    outside_phase = ma.fields.Boolean(metadata={
        "description": "Its day falls outside the phase's dates"})


class CalendarPhaseSchema(ma.Schema):
    phase = ma.fields.Nested(PhaseSchema)
    campaigns = ma.fields.List(ma.fields.Nested(PhaseCampaignSchema))


class CalendarSchema(ma.Schema):
    plan_id = ma.fields.Integer()
    phases = ma.fields.List(ma.fields.Nested(CalendarPhaseSchema))


class OutsidePhaseSchema(ma.Schema):
    phase_id = ma.fields.Integer()
    phase = ma.fields.String(metadata={"description": "The phase's name"})
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    send_on = ma.fields.Date(metadata={"description": "The local day it would go out"})
    scheduled = ma.fields.Boolean(metadata={
        "description": "False: no send time, so the day is today (sent when launched)"})
