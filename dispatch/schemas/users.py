"""Users and API tokens."""

from __future__ import annotations

import marshmallow as ma

from dispatch.models import ROLES
from dispatch.schemas.common import PageQuery, StrictSchema
from dispatch.schemas.fields import SEARCH, DateTime, Email, Text

Role = Text(validate=ma.validate.OneOf(ROLES))


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    username = ma.fields.String()
    full_name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    roles = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean()
    must_change_password = ma.fields.Boolean()
    two_factor = ma.fields.Boolean(dump_only=True,
                                   metadata={"description": "Signs in with a TOTP code too"})
    last_login_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class UserCreateSchema(StrictSchema):
    username = Text(
        required=True,
        validate=[ma.validate.Length(min=2, max=64),
                  ma.validate.Regexp(r"^[A-Za-z0-9._-]+$",
                                     error="Use letters, digits, '.', '_' or '-'.")],
    )
    roles = ma.fields.List(Role, required=True, validate=ma.validate.Length(min=1))
    full_name = Text(load_default="", validate=ma.validate.Length(max=120))
    email = Email(load_default=None, allow_none=True)
    # The rules (length, username, common passwords) are dispatch.access.passwords'.
    password = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200),
                                metadata={"description": "Omit to get a generated one-time "
                                                         "password in the response. At least "
                                                         "12 characters, hard to guess."})


class UserCreatedSchema(UserSchema):
    one_time_password = ma.fields.String(allow_none=True)


class UserUpdateSchema(StrictSchema):
    roles = ma.fields.List(Role, validate=ma.validate.Length(min=1))
    full_name = Text(validate=ma.validate.Length(max=120))
    email = Email(allow_none=True)
    active = ma.fields.Boolean()


class PasswordChangeSchema(StrictSchema):
    current_password = ma.fields.String(required=True)
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(max=200))
    revoke_tokens = ma.fields.Boolean(load_default=False, metadata={
        "description": "Also revoke every API token of the account (other sessions always end)"})


class SessionSchema(ma.Schema):
    id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime(metadata={"description": "Last page view"})
    ip = ma.fields.String()
    user_agent = ma.fields.String()
    current = ma.fields.Boolean(metadata={"description": "The session making this request"})


class SessionsEndedSchema(ma.Schema):
    ended = ma.fields.Integer()


class PasswordResetSchema(ma.Schema):
    one_time_password = ma.fields.String()


class UserQuery(PageQuery):
    role = Role
    active = ma.fields.Boolean()
    q = Text(validate=SEARCH, metadata={"description": "Part of the username or name"})


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "First characters, to tell tokens apart"})
    user_id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    last_used_at = ma.fields.AwareDateTime(allow_none=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)


class TokenCreateSchema(StrictSchema):
    name = Text(required=True, validate=ma.validate.Length(min=1, max=120))
    expires_at = DateTime(load_default=None, allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "The secret; shown this once only"})
