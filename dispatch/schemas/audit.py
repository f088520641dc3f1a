"""The audit log."""

from __future__ import annotations

import marshmallow as ma

from dispatch.schemas.common import Id, PageQuery
from dispatch.schemas.fields import DateTime, Text


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    actor_id = Id(allow_none=True)
    action = ma.fields.String()
    entity = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    before_hash = ma.fields.String(allow_none=True)
    after_hash = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()


class AuditQuery(PageQuery):
    entity = Text()
    entity_id = Text()
    action = Text()
    actor_id = Id()
    since = DateTime()
    until = DateTime()
