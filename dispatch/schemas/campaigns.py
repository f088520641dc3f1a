"""Campaigns, their lifecycle actions and preview."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import marshmallow as ma

from dispatch.campaigns.preview import MAX_TEXT_CHARS
from dispatch.campaigns.strategy import MIN_FALLBACK_MINUTES, STRATEGIES
from dispatch.models import CampaignStatus
from dispatch.schemas.common import Id, PageQuery, StrictSchema
from dispatch.schemas.fields import SEARCH, DateTime, Text, check_link
from dispatch.schemas.plans import OutsidePhaseSchema, PhaseRefSchema

CHANNELS = ("sms", "push", "both")
PRIORITIES = ("normal", "urgent")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class LocalTime(ma.fields.Field):
    """A local time of day as "HH:MM"."""

    def _serialize(self, value: time | None, attr: str | None, obj: Any, **kw: Any) -> str | None:
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> time:
        if not isinstance(value, str) or not _HHMM.match(value):
            raise ma.ValidationError("Use HH:MM, 24-hour local time.")
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))


PHASE_TAG_GONE = "Replaced by phase_id: GET /api/plans lists the plans and their phases."


def _no_phase_tag(data: Any) -> Any:
    """The free phase tag became a plan's phase: say so rather than "Unknown field"."""
    if isinstance(data, dict) and "phase_tag" in data:
        raise ma.ValidationError({"phase_tag": [PHASE_TAG_GONE]})
    return data


def _text(max_len: int, *, multiline: bool = False, **kw: Any) -> Text:
    return Text(allow_none=True, multiline=multiline, validate=ma.validate.Length(max=max_len),
                **kw)


class AudienceSchema(StrictSchema):
    lists = ma.fields.List(Id(strict=True), load_default=list,
                           validate=ma.validate.Length(max=1000),
                           metadata={"description": "Contact list ids (SMS)"})
    exclude_lists = ma.fields.List(Id(strict=True), load_default=list,
                                   validate=ma.validate.Length(max=1000),
                                   metadata={"description": "Members of these lists are left "
                                                            "out (SMS)"})
    localities = ma.fields.List(Text(validate=ma.validate.Length(min=1, max=32)),
                                load_default=list, validate=ma.validate.Length(max=1000),
                                metadata={"description": "Locality codes, including the "
                                                         "localities below them: contacts "
                                                         "(SMS) and app devices (push) there"})
    all_app_users = ma.fields.Boolean(load_default=False,
                                      metadata={"description": "Every active app device (push)"})
    correction_of = Id(dump_only=True, metadata={
        "description": "A correction's original: its recipients who were sent it"})
    only_delivered = ma.fields.Boolean(dump_only=True, metadata={
        "description": "A correction: only the original's recipients whose receipt says "
                       "delivered"})


class ChoiceSchema(StrictSchema):
    key = Text(required=True, validate=ma.validate.Length(max=16))
    label = Text(required=True, validate=ma.validate.Length(max=80))
    keywords = ma.fields.List(Text(validate=ma.validate.Length(max=32)),
                              validate=ma.validate.Length(max=10), load_default=list)


class SurveySchema(StrictSchema):
    question = Text(required=True, validate=ma.validate.Length(max=300))
    # More than the nine the content check allows, so that it names the list, not a 10th item.
    choices = ma.fields.List(ma.fields.Nested(ChoiceSchema), required=True,
                             validate=ma.validate.Length(max=100))


class CampaignWriteSchema(StrictSchema):
    """Fields of an edit; every one optional. The audience is replaced as a whole."""

    @ma.pre_load
    def _phase_tag(self, data: Any, **_: Any) -> Any:
        return _no_phase_tag(data)

    title = Text(validate=ma.validate.Length(min=1, max=200))
    phase_id = Id(allow_none=True, metadata={"description": "The plan's phase (đợt) it belongs "
                                                       "to: GET /api/plans lists them"})
    decision_ref = _text(120, metadata={"description": "Reference of the approving document"})
    channels = Text(validate=ma.validate.OneOf(CHANNELS))
    sms_text = _text(MAX_TEXT_CHARS, multiline=True)
    sms_sender = _text(32, metadata={"description": "Brandname: at most 11 characters, "
                                                    "no diacritics"})
    sms_plain = ma.fields.Boolean(metadata={"description": "Send the text without diacritics"})
    push_title = _text(200)
    push_body = _text(1000, multiline=True)
    push_image = Text(allow_none=True,
                      validate=[ma.validate.Length(max=500),
                                ma.validate.URL(schemes={"https"}, error="Not a valid URL.")])
    push_link = Text(
        allow_none=True,
        validate=[ma.validate.Length(max=500), check_link],
        metadata={"description": "Opened when the notification is tapped: an https: or http: "
                                 "address, or a deep link in the app's own scheme "
                                 "(setting LOA_APP_LINK_SCHEMES)"},
    )
    push_data = ma.fields.Dict(keys=Text(validate=ma.validate.Length(min=1, max=64)),
                               values=Text(multiline=True, validate=ma.validate.Length(max=1024)),
                               validate=ma.validate.Length(max=20))
    audience = ma.fields.Nested(AudienceSchema)
    send_at = DateTime(allow_none=True,
                                      metadata={"description": "Empty: send when launched"})
    window_start = LocalTime(metadata={"description": "HH:MM local; default from settings"})
    window_end = LocalTime(metadata={"description": "HH:MM local; default from settings"})
    validity_hours = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=72))
    priority = Text(validate=ma.validate.OneOf(PRIORITIES))
    strategy = Text(validate=ma.validate.OneOf(STRATEGIES), metadata={
        "description": "both: both channels to everyone; app_first: SMS only to numbers "
                       "without an active verified app device; app_then_sms: SMS to those "
                       "whose push was refused or not opened within fallback_minutes"})
    fallback_minutes = ma.fields.Integer(
        strict=True, allow_none=True,
        validate=ma.validate.Range(min=MIN_FALLBACK_MINUTES, max=72 * 60),
        metadata={"description": "app_then_sms: minutes a push may stay unopened"})
    reply_mode = Text(validate=ma.validate.OneOf(("none", "free", "survey")), metadata={
        "description": "What the campaign asks back: nothing, free text, or a survey"})
    survey = ma.fields.Nested(SurveySchema, metadata={
        "description": "The question and its choices; appended to the SMS with how to answer"})
    reply_days = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=30),
                                   metadata={"description": "Days after launch replies count"})
    reply_ack = _text(MAX_TEXT_CHARS, multiline=True,
                      metadata={"description": "Acknowledgement SMS, at most once a number"})


class CampaignCreateSchema(CampaignWriteSchema):
    title = Text(required=True, validate=ma.validate.Length(min=1, max=200))
    channels = Text(load_default="sms", validate=ma.validate.OneOf(CHANNELS))


class CampaignSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    phase_id = ma.fields.Integer(allow_none=True)
    phase = ma.fields.Nested(PhaseRefSchema, allow_none=True)
    channels = ma.fields.String()
    priority = ma.fields.String()
    status = ma.fields.Enum(CampaignStatus, by_value=True)
    version = ma.fields.Integer()
    send_at = ma.fields.AwareDateTime(allow_none=True)
    created_by_id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    approved_by_id = ma.fields.Integer(allow_none=True)
    approved_at = ma.fields.AwareDateTime(allow_none=True)
    launched_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class CampaignSchema(CampaignSummarySchema):
    decision_ref = ma.fields.String(allow_none=True)
    sms_text = ma.fields.String(allow_none=True)
    sms_sender = ma.fields.String(allow_none=True)
    sms_plain = ma.fields.Boolean()
    push_title = ma.fields.String(allow_none=True)
    push_body = ma.fields.String(allow_none=True)
    push_image = ma.fields.String(allow_none=True)
    push_link = ma.fields.String(allow_none=True)
    push_data = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    audience = ma.fields.Nested(AudienceSchema)
    window_start = LocalTime()
    window_end = LocalTime()
    kind = ma.fields.String(dump_only=True, metadata={
        "description": "campaign | test | correction | ack"})
    parent_id = Id(dump_only=True, allow_none=True, metadata={
        "description": "The campaign a test, correction or acknowledgement belongs to"})
    validity_hours = ma.fields.Integer()
    strategy = ma.fields.String()
    fallback_minutes = ma.fields.Integer(allow_none=True)
    reply_mode = ma.fields.String()
    survey = ma.fields.Dict()
    reply_days = ma.fields.Integer()
    reply_ack = ma.fields.String(allow_none=True)
    cap_exempt = ma.fields.Boolean(metadata={"description": "Set by the approver only"})
    rejection_reason = ma.fields.String(allow_none=True)
    snapshot = ma.fields.Dict(allow_none=True,
                              metadata={"description": "The content frozen at submission"})
    snapshot_hash = ma.fields.String(allow_none=True,
                                     metadata={"description": "What an approval binds to"})
    launched_at = ma.fields.AwareDateTime(allow_none=True)
    expanded_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    expansion = ma.fields.Dict(metadata={"description": "Figures of the audience expansion"})
    pause_reason = ma.fields.String(allow_none=True)
    push_mode = ma.fields.String(allow_none=True, metadata={"description": "devices | topic"})
    push_mode_reason = ma.fields.String(allow_none=True)
    push_blocked = ma.fields.String(allow_none=True,
                                    metadata={"description": "Why the push side stopped"})


REACH_DOC = (
    "The audience frozen at submission against the actual one (null before submission): "
    "`approved` (sms: recipients, parts, cost_vnd, by_operator; push: devices) is what the "
    "approval covers; `actual` is the ledger once expanded (`basis` 'ledger'), before that what "
    "a launch would send now ('audience_now'); `not_approved` counts members who joined the "
    "audience after it was frozen (never sent this campaign), `no_longer_reached` approved "
    "members who opted out, left the audience or were suppressed.")


class CampaignDetailSchema(CampaignSchema):
    allowed_actions = ma.fields.List(
        ma.fields.String(), metadata={"description": "What the caller may do now"}
    )
    reach = ma.fields.Dict(allow_none=True, metadata={"description": REACH_DOC})
    corrections = ma.fields.List(Id(), metadata={
        "description": "Ids of the corrections (đính chính) started from this campaign"})
    outside_phase = ma.fields.Nested(OutsidePhaseSchema, allow_none=True, metadata={
        "description": "Before launch: set when the campaign goes out (its send_at, or today "
                       "when it has none) outside its phase's dates. A warning, not a refusal"})


class CampaignQuery(PageQuery):
    @ma.pre_load
    def _phase_tag(self, data: Any, **_: Any) -> Any:
        return _no_phase_tag(data)

    status = ma.fields.Enum(CampaignStatus, by_value=True)
    phase_id = Id(metadata={"description": "Campaigns of this phase"})
    plan_id = Id(metadata={"description": "Campaigns of any phase of this plan"})
    channel = Text(validate=ma.validate.OneOf(CHANNELS),
                               metadata={"description": "sms or push include 'both'"})
    author_id = Id()
    created_since = DateTime()
    created_until = DateTime()
    q = Text(validate=SEARCH, metadata={"description": "Part of the title (on SQLite, case is "
                                                  "ignored for unaccented letters only)"})


class ApproveSchema(StrictSchema):
    snapshot_hash = Text(required=True,
                                     metadata={"description": "The snapshot hash you reviewed"})
    cap_exempt = ma.fields.Boolean(load_default=False,
                                   metadata={"description": "Exempt an urgent campaign from "
                                                            "per-recipient caps"})
    comment = Text(load_default=None, allow_none=True, multiline=True,
                               validate=ma.validate.Length(max=2000))


class RejectSchema(StrictSchema):
    reason = Text(required=True, multiline=True, validate=ma.validate.Length(max=2000))
    snapshot_hash = Text(load_default=None, allow_none=True)


class ReasonSchema(StrictSchema):
    reason = Text(required=True, multiline=True, validate=ma.validate.Length(max=2000))


class RetrySchema(StrictSchema):
    statuses = ma.fields.List(
        Text(validate=ma.validate.OneOf(["failed", "unknown"])),
        load_default=lambda: ["failed"], validate=ma.validate.Length(min=1),
        metadata={"description": "Which messages to send again: failed and/or unknown"},
    )
    reason = Text(required=True, multiline=True, validate=ma.validate.Length(max=2000))


class RetriedSchema(ma.Schema):
    messages = ma.fields.Integer(metadata={"description": "Messages queued again"})
    campaign = ma.fields.Raw()


class OptionalReasonSchema(StrictSchema):
    reason = Text(load_default=None, allow_none=True, multiline=True,
                              validate=ma.validate.Length(max=2000))


class DiffQuery(StrictSchema):
    against = Text(load_default="submitted",
                               validate=ma.validate.OneOf(["submitted", "approved"]))


class ChangeSchema(ma.Schema):
    field = ma.fields.String()
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)


class DiffBaseSchema(ma.Schema):
    kind = ma.fields.String()
    snapshot_hash = ma.fields.String()
    at = ma.fields.AwareDateTime()
    actor_id = Id(allow_none=True)
    version = ma.fields.Integer(allow_none=True)
    snapshot = ma.fields.Dict()


class DiffSchema(ma.Schema):
    base = ma.fields.Nested(DiffBaseSchema, allow_none=True)
    current_hash = ma.fields.String()
    current_version = ma.fields.Integer()
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))


class PreviewSchema(ma.Schema):
    channels = ma.fields.String()
    sms_plain = ma.fields.Boolean()
    recipients = ma.fields.Dict(metadata={"description": "sms: per operator; push: devices"})
    sms = ma.fields.Dict(allow_none=True, metadata={"description": "Encoding, parts and cost"})
    personal = ma.fields.Dict(allow_none=True, metadata={
        "description": "Personalised text: placeholders, samples, parts per recipient, exact "
                       "cost (complete: over the frozen audience; else a sample)"})


class ProgressSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    status = ma.fields.String()
    pause_reason = ma.fields.String(allow_none=True)
    push_blocked = ma.fields.String(allow_none=True)
    expanding = ma.fields.Boolean()
    total = ma.fields.Integer()
    final = ma.fields.Integer()
    unsent = ma.fields.Integer()
    percent_done = ma.fields.Float(metadata={
        "description": "Share of the rows settled (delivered, failed, not sent, cancelled…)"})
    percent_sent = ma.fields.Float(metadata={
        "description": "Share of the rows that left Loa (submitted or later)"})
    waiting_for = ma.fields.String(allow_none=True, metadata={
        "description": "Why nothing is sent now though rows are left: scheduled, paused, "
                       "send_window, bind_down (no SMPP bind up for the rows' accounts), "
                       "push_blocked; null while it moves or once it is over"})
    waiting_until = ma.fields.String(allow_none=True, metadata={
        "description": "When the wait ends if known (UTC, ISO 8601): the scheduled start or "
                       "the next opening of the send window"})
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    by_operator = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), metadata={
        "description": "SMS rows per operator (`other` when none is known); pushes are in "
                       "by_channel.push"})
    by_account = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    parts_submitted = ma.fields.Integer()
    rate_per_second = ma.fields.Float(allow_none=True, metadata={
        "description": "Submits per second over the last minute; null unless it is moving"})
    eta_seconds = ma.fields.Integer(allow_none=True)
    as_of = ma.fields.String()
