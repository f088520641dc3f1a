"""Preview of any SMS text: encoding, parts, the no-diacritics variant and cost."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint
from dispatch.campaigns.preview import sms_preview, validate_sender
from dispatch.schemas.preview import SmsPreviewRequestSchema, SmsPreviewSchema

blp = Blueprint("preview", __name__, url_prefix="/api/preview",
                description="SMS encoding, parts and cost before a campaign is written")


@blp.route("/sms")
class SmsPreview(MethodView):
    @require("campaign.preview")
    @blp.arguments(SmsPreviewRequestSchema)
    @blp.response(200, SmsPreviewSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Preview a text: encoding, forcing character, parts, and cost per operator."""
        sender = data["sender"]
        checked = validate_sender(sender, field="sender") if sender is not None else None
        preview = sms_preview(data["text"], recipients=data["recipients"])
        return preview | {"sender": checked}
