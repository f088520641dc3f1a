"""Reports: a campaign's funnel and timeline, the summary across campaigns, export options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from dispatch.reports.campaign import BUCKETS
from dispatch.schemas.campaigns import PHASE_TAG_GONE
from dispatch.schemas.common import Id, StrictSchema
from dispatch.schemas.fields import Date, Text

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}


class ReportQuery(StrictSchema):
    bucket = ma.fields.Integer(
        validate=ma.validate.OneOf(BUCKETS),
        metadata={"description": "Timeline bucket width in seconds; default: chosen from the "
                                 "campaign's duration (per minute for a few hours)"})


class ExportQuery(StrictSchema):
    delimiter = Text(
        load_default="comma", validate=ma.validate.OneOf(sorted(DELIMITERS)),
        metadata={"description": "CSV only: semicolon suits Excel set to Vietnamese"})


class SummaryQuery(StrictSchema):
    since = Date(metadata={"description": "First local day (inclusive) a campaign "
                                                    "started on"})
    until = Date(metadata={"description": "Last local day (inclusive)"})
    phase_id = Id(metadata={"description": "Campaigns of this phase"})
    plan_id = Id(metadata={"description": "Campaigns of any phase of this plan"})

    @ma.pre_load
    def _phase_tag(self, data: Any, **_: object) -> Any:
        if isinstance(data, Mapping) and "phase_tag" in data:
            raise ma.ValidationError({"phase_tag": [PHASE_TAG_GONE]})
        return data

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **_: object) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ma.ValidationError("until is before since.", "until")


class SummaryExportQuery(SummaryQuery, ExportQuery):
    pass


def _int(description: str | None = None) -> ma.fields.Integer:
    return ma.fields.Integer(metadata={"description": description} if description else {})


def _counts() -> ma.fields.Dict:
    return ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


# Built with from_dict: fields named `partial` and `unknown` would shadow Schema attributes.
FIGURES: dict[str, Any] = {
    "targeted": lambda: _int("Every ledger row"),
    "suppressed": lambda: _int("Never sent (opt-out, invalid number, no route, cap, ...)"),
    "waiting": lambda: _int("Pending, queued or being sent now"),
    "cancelled": _int,
    "expired_unsent": lambda: _int("Validity ended before sending"),
    "submitted": lambda: _int("Reached the gateway: delivered + partial + failed + expired + "
                              "unknown + awaiting_receipt + accepted_by_fcm"),
    "delivered": lambda: _int("SMS with a delivery receipt"),
    "partial": lambda: _int("Multipart SMS, some parts delivered"),
    "failed": _int,
    "expired": lambda: _int("Expired after submission (SMSC)"),
    "unknown": lambda: _int("Fate unknowable, or no receipt within the wait"),
    "awaiting_receipt": lambda: _int("SMS accepted, no receipt yet"),
    "accepted_by_fcm": lambda: _int("Push accepted by FCM: not a delivery"),
    "sms_delivered_percent": lambda: ma.fields.Float(allow_none=True),
    "parts_billed": lambda: _int("Parts of SMS that reached the gateway, less those it refused "
                                 "outright"),
    "cost_vnd": lambda: _int("Estimate at the current price per part of each operator"),
}

# What people answered, for a campaign that asked (null otherwise).
ANSWERED: dict[str, Any] = {
    "survey_answers": lambda: ma.fields.Integer(allow_none=True, metadata={
        "description": "Counted answers (free replies: people who replied); null when the "
                       "campaign asked for no answer"}),
    "survey_response_rate_percent": lambda: ma.fields.Float(allow_none=True, metadata={
        "description": "Counted answers / recipients reached (SMS delivered, pushes accepted)"}),
}

# What the approval covered (the audience frozen at submission), beside the ledger's figures.
APPROVED: dict[str, Any] = {
    "approved_sms_recipients": lambda: _int("SMS recipients the approval covered"),
    "approved_push_devices": lambda: _int("App devices the approval covered"),
    "approved_cost_vnd": lambda: _int("SMS cost approved, at the prices of the submission"),
}

TallySchema = ma.Schema.from_dict({
    **{name: make() for name, make in FIGURES.items()},
    "suppressed_by_reason": _counts(),
    "failed_by_reason": _counts(),
    "refused_at_submit": _int("Of failed: refused by the gateway outright"),
    "unknown_by_reason": _counts(),
}, name="TallySchema")


class ReportCampaignSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    phase_id = ma.fields.Integer(allow_none=True)
    phase = ma.fields.String(allow_none=True, metadata={"description": "The phase's name"})
    status = ma.fields.String()
    channels = ma.fields.String()
    launched_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    push_mode = ma.fields.String(allow_none=True)


BucketSchema = ma.Schema.from_dict({
    "start": ma.fields.AwareDateTime(metadata={"description": "Local time (+07:00)"}),
    "submitted": ma.fields.Integer(),
    "delivered": ma.fields.Integer(),
    "partial": ma.fields.Integer(),
    "failed": ma.fields.Integer(),
    "submit_rate_per_second": ma.fields.Float(),
}, name="BucketSchema")


class TimelineSchema(ma.Schema):
    bucket_seconds = ma.fields.Integer()
    buckets = ma.fields.List(ma.fields.Nested(BucketSchema))


class CampaignReportSchema(ma.Schema):
    campaign = ma.fields.Nested(ReportCampaignSchema)
    as_of = ma.fields.AwareDateTime()
    total = ma.fields.Nested(TallySchema)
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TallySchema))
    by_operator = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(TallySchema),
                                 metadata={"description": "SMS only"})
    prices_vnd_per_part = _counts()
    not_in_ledger = _counts()
    reach = ma.fields.Dict(allow_none=True, metadata={
        "description": "Approved (frozen at submission) against actual recipients and cost; "
                       "see the campaign's `reach`"})
    strategy = ma.fields.Dict(allow_none=True, metadata={
        "description": "The channel strategy (null for both): `people` by the channel that "
                       "reached them (app, app_opened, sms, sms_fallback, waiting, none), "
                       "`fallback` SMS by cause (refused, unopened, opened, waiting), "
                       "`fallback_sent`, `push_accepted`, `push_opened`"})
    first_submit = ma.fields.AwareDateTime(allow_none=True)
    last_submit = ma.fields.AwareDateTime(allow_none=True)
    last_outcome = ma.fields.AwareDateTime(allow_none=True)
    timeline = ma.fields.Nested(TimelineSchema)
    notes = ma.fields.List(ma.fields.String())
    survey = ma.fields.Nested(lambda: SurveyResultsSchema(), allow_none=True, metadata={
        "description": "What people answered, when the campaign asked for it (else null): "
                       "see Survey"})


SummaryCampaignSchema = ma.Schema.from_dict({
    "id": ma.fields.Integer(),
    "title": ma.fields.String(),
    "phase_id": ma.fields.Integer(allow_none=True),
    "phase": ma.fields.String(allow_none=True),
    "status": ma.fields.String(),
    "channels": ma.fields.String(),
    "started_at": ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "The later of launch and send_at, local time"}),
    "finished_at": ma.fields.AwareDateTime(allow_none=True),
    **{name: make() for name, make in FIGURES.items()},
    **{name: make() for name, make in APPROVED.items()},
    **{name: make() for name, make in ANSWERED.items()},
    "strategy": ma.fields.String(metadata={"description": "both | app_first | app_then_sms"}),
    "fallback_sms": _int("SMS sent as a strategy's fallback (push refused or not opened)"),
}, name="SummaryCampaignSchema")

SummaryTotalSchema = ma.Schema.from_dict({
    "campaigns": ma.fields.Integer(),
    **{name: make() for name, make in FIGURES.items()},
    **{name: make() for name, make in APPROVED.items()},
    **{name: make() for name, make in ANSWERED.items()},
}, name="SummaryTotalSchema")


class SummarySchema(ma.Schema):
    since = ma.fields.Date(allow_none=True)
    until = ma.fields.Date(allow_none=True)
    phase_id = ma.fields.Integer(allow_none=True)
    plan_id = ma.fields.Integer(allow_none=True)
    phase = ma.fields.String(allow_none=True, metadata={"description": "The phase's name"})
    plan = ma.fields.String(allow_none=True, metadata={"description": "The plan's title"})
    as_of = ma.fields.AwareDateTime()
    campaigns = ma.fields.List(ma.fields.Nested(SummaryCampaignSchema))
    total = ma.fields.Nested(SummaryTotalSchema)
    prices_vnd_per_part = _counts()
    notes = ma.fields.List(ma.fields.String())


# --- survey results (dispatch.reports.survey) ------------------------------------------------

def _rate() -> dict[str, Any]:
    return {
        "answers": _int("Counted answers (free mode: people who replied)"),
        "reached": _int("Recipients reached: SMS delivered, pushes accepted by FCM"),
        "rate_percent": ma.fields.Float(allow_none=True, metadata={
            "description": "answers / reached, in percent; null when nothing reached"}),
        "by_choice": ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
            "description": "Survey only: answers per choice key"}),
    }


SurveyRateSchema = ma.Schema.from_dict(_rate(), name="SurveyRateSchema")
SurveyLocalitySchema = ma.Schema.from_dict({
    "name": ma.fields.String(metadata={"description": "The district's name"}), **_rate(),
}, name="SurveyLocalitySchema")


class SurveyChoiceSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    answers = ma.fields.Integer()
    percent = ma.fields.Float(allow_none=True, metadata={"description": "Share of answers"})


class SurveyWindowSchema(ma.Schema):
    days = ma.fields.Integer()
    opens = ma.fields.AwareDateTime(allow_none=True)
    closes = ma.fields.AwareDateTime(allow_none=True)


class SurveyBucketSchema(ma.Schema):
    start = ma.fields.AwareDateTime(metadata={"description": "Local time (+07:00)"})
    replies = _int("Answers and free replies received")
    answers = _int("Of them, counted answers")


class SurveyTimelineSchema(ma.Schema):
    bucket_seconds = ma.fields.Integer(metadata={"description": "3600, or 86400 past 4 days"})
    buckets = ma.fields.List(ma.fields.Nested(SurveyBucketSchema))


class SurveyResultsSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    mode = ma.fields.String(metadata={"description": "survey | free"})
    question = ma.fields.String(allow_none=True)
    window = ma.fields.Nested(SurveyWindowSchema)
    answers = _int("Counted answers: the last answer of each number or installation (free "
                   "mode: people who replied)")
    reached = _counts()
    response_rate_percent = ma.fields.Float(allow_none=True)
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(
        SurveyRateSchema), metadata={"description": "sms | app (app: against pushes accepted)"})
    choices = ma.fields.List(ma.fields.Nested(SurveyChoiceSchema))
    free_replies = _int("Free-text replies (all of them)")
    not_counted = _counts()
    by_locality = ma.fields.List(ma.fields.Nested(SurveyLocalitySchema))
    by_operator = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(
        SurveyRateSchema), metadata={"description": "SMS answers against SMS delivered"})
    timeline = ma.fields.Nested(SurveyTimelineSchema)


class PeopleQuery(StrictSchema):
    msisdn = Text(validate=ma.validate.Length(max=32),
                  metadata={"description": "One number only (an inquiry)"})
    after = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0),
                              metadata={"description": "The last message_id of the page before"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class PersonPushSchema(ma.Schema):
    installation_id = ma.fields.String()
    status = ma.fields.String()
    opened_at = ma.fields.AwareDateTime(allow_none=True)


class PersonSchema(ma.Schema):
    message_id = ma.fields.Integer()
    msisdn = ma.fields.String(allow_none=True)
    reached_by = ma.fields.String(metadata={
        "description": "app | app_opened | sms | sms_fallback | waiting | none"})
    sms_status = ma.fields.String()
    sms_reason = ma.fields.String(allow_none=True)
    fallback = ma.fields.String(allow_none=True)
    pushes = ma.fields.List(ma.fields.Nested(PersonPushSchema), metadata={
        "description": "This campaign's pushes to the number's verified devices"})


class InquiryQuery(StrictSchema):
    msisdn = Text(required=True, metadata={"description": "The number, as a person writes it"})


class InquirySchema(ma.Schema):
    msisdn = ma.fields.String(metadata={"description": "The number read, E.164"})
    found = ma.fields.Boolean(metadata={"description": "Whether the campaign targeted it"})
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    parts = ma.fields.Integer()
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    text = ma.fields.String(allow_none=True, metadata={
        "description": "The exact text sent to this number; none when nothing was sent"})
