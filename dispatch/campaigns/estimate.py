"""A campaign's preview: who it reaches per channel, then the SMS encoding, parts and cost."""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import audience, content
from dispatch.models import Campaign
from dispatch.preview import sms_preview


def campaign_preview(c: Campaign) -> dict[str, Any]:
    """Recipients per operator (SMS) and active devices (push), and the SMS figures."""
    defined = audience.normalise(c.audience)
    recipients: dict[str, Any] = {}
    sms = None
    if content.uses_sms(c.channels):
        recipients["sms"] = audience.sms_recipients(defined)
        sms = sms_preview(c.sms_text or "", recipients=recipients["sms"])
    if content.uses_push(c.channels):
        recipients["push"] = audience.push_recipients(defined)
    return {"channels": c.channels, "sms_plain": c.sms_plain, "recipients": recipients,
            "sms": sms}
