"""Webhooks: what an admin registers (the URL, the events) and what the API shows of a hook.

The URL rule: http or https only, a host, no credentials in it (user:password@ would sit in the
database and the logs in clear; the signature is how a receiver knows Loa), at most 2,000
characters, no spaces or control characters. Private addresses (10/8, 192.168/16, localhost…)
are allowed on purpose: Loa's main receiver is the province app's backend on the department's
LAN. Only an admin registers a URL, Loa posts only to the URL as registered (redirects are not
followed), and an answer is read no further than its first 4 KB, so a hook cannot be turned
into a way to read internal services.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma

from dispatch.hooks.events import EVENTS
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text

URL_MAX = 2000
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def check_url(value: str) -> None:
    if len(value) > URL_MAX:
        raise ma.ValidationError(f"At most {URL_MAX} characters.")
    if _SPACE_OR_CONTROL.search(value):
        raise ma.ValidationError("A URL has no spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ma.ValidationError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ma.ValidationError("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise ma.ValidationError("The URL has no host.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ma.ValidationError("No user name or password in the URL: Loa signs each call "
                                 "instead.")
    if port == 0:
        raise ma.ValidationError("Not a valid port.")


Url = Text(validate=check_url, metadata={"description": "http(s), no credentials"})
Events = ma.fields.List(Text(validate=ma.validate.OneOf(EVENTS)),
                        validate=ma.validate.Length(min=1, max=len(EVENTS)))


class HookUpdateSchema(StrictSchema):
    name = Text(validate=ma.validate.Length(min=1, max=80))
    url = Url
    events = Events

    @ma.post_load
    def _unique_events(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "events" in data:
            data["events"] = [e for e in EVENTS if e in set(data["events"])]
        return data


class HookCreateSchema(HookUpdateSchema):
    class Meta(StrictSchema.Meta):
        pass

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if field_name in {"name", "url", "events"}:
            field_obj.required = True


class HookSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    disabled_at = ma.fields.AwareDateTime(allow_none=True)
    failing_since = ma.fields.AwareDateTime(allow_none=True)
    last_success_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class HookWithSecretSchema(HookSchema):
    secret = ma.fields.String(metadata={"description": "Shown this once: keep it"})


class HookAttemptSchema(ma.Schema):
    id = ma.fields.Integer()
    delivery_id = ma.fields.Integer()
    delivery = ma.fields.String(attribute="uid")
    event = ma.fields.String()
    events = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()
    next_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    delivery_status = ma.fields.String()
