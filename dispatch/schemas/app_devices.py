"""App-facing device registration and the admin view of app keys."""

from __future__ import annotations

import marshmallow as ma

from dispatch.push.devices import (
    FCM_TOKEN_MAX,
    FCM_TOKEN_MIN,
    MAX_TOPICS,
    PLATFORMS,
    TOPIC_MAX_LENGTH,
)
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text

# Checked by the service (dispatch.push.devices.check_topics) so every caller gets one rule.
Topics = ma.fields.List(
    Text(),
    metadata={"description": f"FCM topic names the app subscribed to (at most {MAX_TOPICS}; "
                             f"characters a-z A-Z 0-9 - _ . ~, 1 to {TOPIC_MAX_LENGTH} each)"},
)


class DeviceRegisterSchema(StrictSchema):
    fcm_token = Text(
        required=True,
        metadata={"description": f"FCM registration token: {FCM_TOKEN_MIN} to {FCM_TOKEN_MAX} "
                                 "characters of A-Z a-z 0-9 _ : -"},
    )
    platform = Text(required=True, validate=ma.validate.OneOf(PLATFORMS))
    app_version = Text(allow_none=True, validate=ma.validate.Length(max=32),
                                   metadata={"description": "Left out: unchanged"})
    locale = Text(
        allow_none=True,
        validate=ma.validate.Regexp(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$",
                                    error="Use a language tag such as 'vi' or 'vi-VN'."),
        metadata={"description": "Language tag, e.g. vi-VN. Left out: unchanged"},
    )
    locality = Text(
        allow_none=True, validate=ma.validate.Length(max=32),
        metadata={"description": "Locality code from GET /api/app/localities. Left out: "
                                 "unchanged; null: none"},
    )
    topics = Topics
    msisdn = Text(
        allow_none=True, validate=ma.validate.Length(max=32),
        metadata={"description": "The signed-in user's phone number (0912345678, +84912345678"
                                 "…). Verified only if the app key verifies numbers, else "
                                 "claimed. Left out: unchanged; null: none"})


class NumberSchema(StrictSchema):
    msisdn = Text(required=True, validate=ma.validate.Length(max=32),
                  metadata={"description": "The signed-in user's phone number; read as "
                                           "written, never repaired (a letter is refused)"})


class OpenedSchema(StrictSchema):
    campaign_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The `loa_campaign` of the notification's data"})


class OpenedAnswerSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    opened_at = ma.fields.AwareDateTime()


class TopicsSchema(StrictSchema):
    topics = ma.fields.List(Text(), required=True,
                            metadata={"description": Topics.metadata["description"]})


class OptOutRequestSchema(StrictSchema):
    reason = Text(load_default="", multiline=True, validate=ma.validate.Length(max=500))


class AppDeviceSchema(ma.Schema):
    installation_id = ma.fields.String()
    platform = ma.fields.String()
    app_version = ma.fields.String(allow_none=True)
    locale = ma.fields.String(allow_none=True)
    locality = ma.fields.String(allow_none=True)
    topics = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean(metadata={"description": "Whether pushes can reach it"})
    disabled_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "app_unregistered, token_moved, or FCM's verdict on the token "
                                 "(register a new token to re-enable)"},
    )
    disabled_at = ma.fields.AwareDateTime(allow_none=True)
    opted_out = ma.fields.Boolean(metadata={"description": "The person turned pushes off"})
    msisdn = ma.fields.String(allow_none=True, metadata={"description": "E.164"})
    msisdn_verified = ma.fields.Boolean(metadata={
        "description": "Told by a key that verifies numbers; a claimed number decides nothing"})
    last_seen_at = ma.fields.AwareDateTime()
    created_at = ma.fields.AwareDateTime()
    installation_secret = ma.fields.String(metadata={
        "description": "Only in the answer that issued it (registration, or an old installation's "
                       "claim): send it in X-Installation-Secret on every later call. Stored "
                       "hashed; never shown again."})


class AppLocalitySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    parent = ma.fields.String(allow_none=True, metadata={"description": "Parent's code"})


class AppKeySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "First characters, to tell keys apart"})
    rate_limit_per_minute = ma.fields.Integer()
    verifies_numbers = ma.fields.Boolean(metadata={
        "description": "The app's backend checks numbers (e.g. by OTP): they are verified links"})
    created_at = ma.fields.AwareDateTime()
    last_used_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)


class AppKeyCreateSchema(StrictSchema):
    name = Text(required=True, validate=ma.validate.Length(min=1, max=120))
    rate_limit_per_minute = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=1_000_000)
    )
    verifies_numbers = ma.fields.Boolean(load_default=False, truthy={True}, falsy={False})


class AppKeyUpdateSchema(StrictSchema):
    name = Text(validate=ma.validate.Length(min=1, max=120))
    rate_limit_per_minute = ma.fields.Integer(validate=ma.validate.Range(min=1, max=1_000_000))
    verifies_numbers = ma.fields.Boolean(truthy={True}, falsy={False})


class AppKeyCreatedSchema(AppKeySchema):
    key = ma.fields.String(metadata={"description": "The secret; shown this once only"})


class AnswerSchema(StrictSchema):
    """An answer to a campaign that asked for one (a survey choice or free text)."""

    campaign_id = ma.fields.Integer(required=True, strict=True)
    text = Text(required=True, multiline=True, validate=ma.validate.Length(min=1, max=1000))


class AnswerGivenSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "answer (a choice) | free"})
    choice = ma.fields.String(allow_none=True)
    text = ma.fields.String()
