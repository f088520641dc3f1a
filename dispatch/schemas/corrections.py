"""Starting a correction (đính chính) of a sent campaign."""

from __future__ import annotations

import marshmallow as ma

from dispatch.schemas.common import StrictSchema
from dispatch.schemas.fields import Text


class CorrectionStartSchema(StrictSchema):
    only_delivered = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Only the recipients whose receipt says delivered"})
    cancel_original = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Cancel the original first (it must still be sending)"})
    reason = Text(load_default=None, allow_none=True, multiline=True,
                  validate=ma.validate.Length(max=2000),
                  metadata={"description": "Why the original is cancelled"})
