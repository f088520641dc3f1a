"""A campaign's preview: who it reaches per channel, then the SMS encoding, parts and cost."""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import audience, content, duration, personal, placeholders
from dispatch.campaigns.preview import sms_preview
from dispatch.models import Campaign
from dispatch.replies.ask import sent_text


def campaign_preview(c: Campaign, *, frozen: bool = False) -> dict[str, Any]:
    """Recipients per operator (SMS) and active devices (push), and the SMS figures.

    `frozen`: the figures of the audience frozen at submission (what an approval covers, at the
    prices of that moment) rather than of the audience as it is now.
    """
    reach = c.frozen_reach if frozen else None
    defined = audience.normalise(c.audience)
    recipients: dict[str, Any] = {}
    sms = None
    personalised = None
    if content.uses_sms(c.channels):
        prices = None
        if reach and reach.get("sms") is not None:
            rows = reach["sms"]["by_operator"]
            recipients["sms"] = {op: row["recipients"] for op, row in rows.items()}
            prices = {op: row["price_per_part"] for op, row in rows.items()} or None
        else:
            recipients["sms"] = audience.sms_recipients(defined)
        text = sent_text(placeholders.as_written(c.sms_text or ""), c.reply_mode, c.survey)
        sms = sms_preview(text, recipients=recipients["sms"], prices=prices)
        variant = sms["plain"] if c.sms_plain else sms["original"]
        sms["duration"] = duration.estimate(c, recipients["sms"], variant["parts"])
        personalised = ((reach or {}).get("personal")
                        or personal.sampled(c, audience.sms_reachable(defined)))
    if content.uses_push(c.channels):
        recipients["push"] = (reach["push"]["devices"] if reach and reach.get("push") is not None
                              else audience.push_recipients(defined))
    return {"channels": c.channels, "sms_plain": c.sms_plain, "recipients": recipients,
            "sms": sms, "personal": personalised}
